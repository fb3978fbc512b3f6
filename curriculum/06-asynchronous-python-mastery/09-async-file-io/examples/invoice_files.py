"""A tenant's invoice export written, read and archived with aiofiles, counting thread hops.

Every aiofiles call that touches the file is one trip to a worker thread and back. The
loop's default executor is replaced by one that counts those trips, so each step prints what
it cost. Everything happens in a temporary directory that is removed at the end.
"""

import asyncio
import hashlib
import logging
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import aiofiles
import aiofiles.os

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log: %(message)s")
log = logging.getLogger("exports")

P = ParamSpec("P")
T = TypeVar("T")
CHUNK = 64 * 1024


class HopCounter(ThreadPoolExecutor):
    """A thread pool that counts submissions: one per trip from the loop to a worker."""

    def __init__(self, prefix: str) -> None:
        super().__init__(max_workers=4, thread_name_prefix=prefix)
        self.hops = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.hops += 1  # run_in_executor() calls submit() on the loop's thread
        return super().submit(fn, *args, **kwargs)

    def take(self) -> int:
        hops, self.hops = self.hops, 0
        return hops


def invoice_rows(count: int) -> list[str]:
    return [f"INV-{n:05d},tenant-7,{(n * 37) % 9000 + 100}\n" for n in range(1, count + 1)]


async def write_export(path: Path, pool: HopCounter) -> None:
    print("1. write a CSV export")
    async with aiofiles.open(path, "w", encoding="utf-8", newline="") as export:
        print(f"   aiofiles.open(..., 'w') gave {type(export).__name__}")
        await export.write("number,tenant,total_cents\n")
        await export.writelines(invoice_rows(2_000))
    size = (await aiofiles.os.stat(path)).st_size
    print(f"   {size:,} bytes; hops: open, write, writelines, close + stat = {pool.take()}")


async def read_export(path: Path, pool: HopCounter) -> None:
    print("2. read it back, three ways")
    async with aiofiles.open(path, encoding="utf-8") as export:
        text = await export.read()
    print(f"   read() whole:        {len(text.splitlines()):>5} lines, {pool.take():>5} hops")

    lines = 0
    async with aiofiles.open(path, encoding="utf-8") as export:
        async for _line in export:  # each line is one readline() in a worker thread
            lines += 1
    print(f"   async for line:      {lines:>5} lines, {pool.take():>5} hops")

    digest = hashlib.sha256()
    async with aiofiles.open(path, "rb") as export:
        print(f"   mode 'rb' gave {type(export).__name__}")
        while chunk := await export.read(CHUNK):
            digest.update(chunk)
    print(f"   64 KiB chunks:       sha256 {digest.hexdigest()[:12]}..., {pool.take():>5} hops")


async def append_and_resume(path: Path, pool: HopCounter) -> None:
    print("3. append late invoices, then read only what was added since a saved offset")
    offset = (await aiofiles.os.stat(path)).st_size  # a tailer would persist this number
    async with aiofiles.open(path, "a", encoding="utf-8", newline="") as export:
        await export.writelines(["INV-02001,tenant-7,450\n", "INV-02002,tenant-7,975\n"])
    async with aiofiles.open(path, "rb") as export:
        await export.seek(offset)
        tail = await export.read()
        position = await export.tell()
    print(f"   new since offset {offset:,}: {tail.decode().split()}")
    print(f"   now at offset {position:,}; hops: {pool.take()}")


async def archive(folder: Path, path: Path, pool: HopCounter) -> None:
    print("4. archive with aiofiles.os")
    archive_dir = folder / "archive" / "2024-06"
    await aiofiles.os.makedirs(archive_dir, exist_ok=True)
    target = archive_dir / path.name
    await aiofiles.os.replace(path, target)
    print(f"   still in place: {await aiofiles.os.path.exists(path)}")
    print(f"   archive holds: {await aiofiles.os.listdir(archive_dir)}")
    entries = await aiofiles.os.scandir(archive_dir)
    with entries:  # scandir() ran in a thread; iterating its result does not
        names = [entry.name for entry in entries]
    print(f"   scandir() returned {type(entries).__name__}, a plain iterator: {names}")
    print(f"   hops: {pool.take()}")


async def errors(folder: Path, pool: HopCounter) -> None:
    print("5. errors come back through the await")
    try:
        async with aiofiles.open(folder / "missing.csv", encoding="utf-8") as export:
            await export.read()
    except FileNotFoundError as error:
        log.warning("export not found: %s", Path(str(error.filename)).name)
    bad = folder / "bad.bin"
    try:
        async with aiofiles.open(bad, "wb") as binary:
            kept = binary
            await binary.write("INV-1,tenant-7,100")  # type: ignore[arg-type]  # str, not bytes
    except TypeError as error:
        log.warning("write failed in the worker thread: %s", error)
        print(f"   the file was still closed by async with: {kept.closed}")
    print(f"   hops: {pool.take()}")


async def own_executor(folder: Path, pool: HopCounter) -> None:
    print("6. executor= sends the calls to another pool, but not the close")
    files = HopCounter("file-io")
    path = folder / "archive" / "2024-06" / "invoices.csv"
    async with aiofiles.open(path, encoding="utf-8", executor=files) as export:
        await export.readline()
    print(f"   dedicated pool: {files.take()} hops, default pool: {pool.take()} hop")
    files.shutdown()


async def main() -> None:
    pool = HopCounter("asyncio")
    asyncio.get_running_loop().set_default_executor(pool)
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        folder = Path(name)
        export = folder / "invoices.csv"
        await write_export(export, pool)
        await read_export(export, pool)
        await append_and_resume(export, pool)
        await archive(folder, export, pool)
        await errors(folder, pool)
        await own_executor(folder, pool)


if __name__ == "__main__":
    asyncio.run(main())
