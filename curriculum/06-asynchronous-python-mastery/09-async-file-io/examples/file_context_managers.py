"""Async context managers for files: closing, atomic replacement, cancellation, several files.

A billing service publishes a tenant's price list as prices.json. Readers must see either the
old file or the new one, never half of one, even when the writer fails or is cancelled.
"""

import asyncio
import contextlib
import gc
import json
import logging
import os
import sys
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiofiles
import aiofiles.os
from aiofiles.threadpool.binary import AsyncBufferedIOBase

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log: %(message)s")
log = logging.getLogger("prices")


def fsync_directory(folder: Path) -> None:
    """Make a rename inside `folder` durable: the directory entry is data too."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@asynccontextmanager
async def atomic_write(target: Path) -> AsyncIterator[AsyncBufferedIOBase]:
    """Yield a temporary file beside `target`; on success it replaces `target` in one rename."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        async with aiofiles.open(temporary, "xb") as handle:
            yield handle
            await handle.flush()
            await asyncio.to_thread(os.fsync, handle.fileno())
        await aiofiles.os.replace(temporary, target)
    except BaseException:  # CancelledError included: a timeout must not leave a .tmp behind
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)  # one unlink; no await, so a second cancel cannot skip it
        raise
    await asyncio.to_thread(fsync_directory, target.parent)


@asynccontextmanager
async def naive_atomic_write(target: Path) -> AsyncIterator[AsyncBufferedIOBase]:
    """The same, with the cleanup most people write first."""
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        async with aiofiles.open(temporary, "xb") as handle:
            yield handle
        await aiofiles.os.replace(temporary, target)
    except Exception:  # CancelledError is a BaseException: this does not run on a timeout
        await aiofiles.os.remove(temporary)
        raise


def price_list(version: int) -> list[bytes]:
    items = [{"sku": f"PLAN-{n}", "cents": 1000 * n + version} for n in range(1, 4)]
    body = json.dumps({"version": version, "items": items}, indent=1).encode()
    middle = len(body) // 2
    return [body[:middle], body[middle:]]  # written in two parts, with a pause between


async def publish(target: Path, version: int, *, fail: bool = False, naive: bool = False) -> None:
    writer = naive_atomic_write if naive else atomic_write
    async with writer(target) as handle:
        first, second = price_list(version)
        await handle.write(first)
        await asyncio.sleep(0.2)  # the rest of the data is still being produced
        if fail:
            raise ValueError(f"price for PLAN-2 missing in version {version}")
        await handle.write(second)


async def reader_view(target: Path) -> str:
    async with aiofiles.open(target, "rb") as handle:
        try:
            return f"version {json.loads(await handle.read())['version']}"
        except json.JSONDecodeError:
            return "half-written JSON"


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name[-4:] for path in folder.iterdir() if path.name.startswith("."))


async def await_or_async_with(folder: Path) -> None:
    print("1. aiofiles.open() returns something you can await or use with async with")
    opened = aiofiles.open(folder / "prices.json", "rb")
    print(f"   before anything runs: {type(opened).__name__}")
    handle = await opened
    print(f"   after await: {type(handle).__name__}, closed={handle.closed}")
    await handle.close()  # with plain await, closing is your job

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        forgotten = await aiofiles.open(folder / "prices.json", "rb")
        del forgotten
        await asyncio.sleep(0)  # the loop drops the last callback that referenced the file
        gc.collect()
    for warning in caught:
        message = str(warning.message).split(" name=")[0]
        print(f"   never closed: {warning.category.__name__}: {message} ...>")

    try:
        async with aiofiles.open(folder / "prices.json", "rb") as handle:
            raise RuntimeError("render failed")
    except RuntimeError:
        print(f"   an exception left the block; closed={handle.closed}")


async def atomic_replacement(folder: Path) -> None:
    target = folder / "prices.json"
    print("2. atomic replacement: readers see the old file or the new one")
    await publish(target, 1)
    writing = asyncio.create_task(publish(target, 2))
    await asyncio.sleep(0.1)  # the writer is between its two parts now
    print(f"   reader during the write:   {await reader_view(target)}")
    await writing
    print(f"   reader after the write:    {await reader_view(target)}")

    async with aiofiles.open(target, "r+b") as handle:  # what writing in place looks like
        await handle.truncate(0)
        await handle.write(price_list(3)[0])
        print(f"   reader during an in-place write: {await reader_view(target)}")
        await handle.write(price_list(3)[1])

    print("3. a failed writer and a cancelled writer")
    try:
        await publish(target, 4, fail=True)
    except ValueError as error:
        log.warning("publish failed: %s", error)
    state = await reader_view(target)
    print(f"   after the failure: {state}, temp files left: {leftovers(folder)}")
    for naive in (False, True):
        try:
            async with asyncio.timeout(0.1):
                await publish(target, 5, naive=naive)
        except TimeoutError:
            name = "except Exception" if naive else "except BaseException"
            state = await reader_view(target)
            print(f"   timeout, cleanup with {name}: {state}, left: {leftovers(folder)}")


async def several_files(folder: Path) -> None:
    print("4. one AsyncExitStack for a variable number of files")
    regions = ["eu", "us", "apac"]
    for offset, region in enumerate(regions):
        rows = "".join(f"{region},INV-{offset * 10 + n}\n" for n in range(1, 3))
        (folder / f"part-{region}.csv").write_text(rows, encoding="utf-8")
    async with AsyncExitStack() as stack:
        parts = [
            await stack.enter_async_context(aiofiles.open(folder / f"part-{region}.csv", "rb"))
            for region in regions
        ]
        merged = await stack.enter_async_context(aiofiles.open(folder / "merged.csv", "wb"))
        for part in parts:
            await merged.write(await part.read())
    print(f"   all closed: {all(part.closed for part in parts) and merged.closed}")
    print(f"   merged rows: {len((folder / 'merged.csv').read_text().splitlines())}")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        folder = Path(name)
        await publish(folder / "prices.json", 0)
        await await_or_async_with(folder)
        await atomic_replacement(folder)
        await several_files(folder)


if __name__ == "__main__":
    asyncio.run(main())
