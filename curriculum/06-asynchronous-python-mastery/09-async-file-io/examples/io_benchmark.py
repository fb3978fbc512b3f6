"""aiofiles against plain synchronous I/O and asyncio.to_thread(), on this machine's disk.

Three workloads a service meets: 200 small invoice files, one 16 MiB export, and a
2,000-line log. Times are medians of several runs and vary with the machine's load, so they
are masked in the recorded output; the thread hops per run are exact.
"""

import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import aiofiles

P = ParamSpec("P")
T = TypeVar("T")


class HopCounter(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(thread_name_prefix="asyncio")  # the default size: min(32, cpus + 4)
        self.hops = 0

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        self.hops += 1
        return super().submit(fn, *args, **kwargs)


class Bench:
    def __init__(self, pool: HopCounter) -> None:
        self.pool = pool
        self.baseline = 0.0

    async def run(self, label: str, work: Callable[[], Awaitable[object]], repeat: int) -> None:
        samples = []
        for _ in range(repeat):
            self.pool.hops = 0
            started = time.perf_counter()
            await work()
            samples.append((time.perf_counter() - started) * 1000)
        median = statistics.median(samples)
        if not self.baseline:
            self.baseline = median  # the first row of each group is the synchronous one
        ratio = median / self.baseline
        print(f"   {label:<34} {median:9.2f} ms  x{ratio:6.1f}   hops {self.pool.hops:>5}")


def read_all(paths: list[Path]) -> int:
    return sum(len(path.read_bytes()) for path in paths)


def read_in_chunks(path: Path, size: int) -> int:
    total = 0
    with open(path, "rb") as export:
        while chunk := export.read(size):
            total += len(chunk)
    return total


def count_errors(path: Path) -> int:
    with open(path, encoding="utf-8") as log:
        return sum(" ERROR " in line for line in log)


async def aio_read(path: Path) -> int:
    async with aiofiles.open(path, "rb") as invoice:
        return len(await invoice.read())


async def aio_chunks(path: Path, size: int) -> int:
    total = 0
    async with aiofiles.open(path, "rb") as export:
        while chunk := await export.read(size):
            total += len(chunk)
    return total


async def small_files(bench: Bench, paths: list[Path]) -> None:
    print(f"1. read {len(paths)} invoice files of 4 KiB each (median of 5)")

    async def sync_loop() -> int:
        return read_all(paths)

    async def to_thread_each() -> int:
        return sum([len(await asyncio.to_thread(path.read_bytes)) for path in paths])

    async def aiofiles_one_by_one() -> int:
        return sum([await aio_read(path) for path in paths])

    async def aiofiles_gathered() -> int:
        return sum(await asyncio.gather(*(aio_read(path) for path in paths)))

    await bench.run("sync loop on the event loop", sync_loop, 5)
    await bench.run("to_thread() per file", to_thread_each, 5)
    await bench.run("one to_thread() for all files", lambda: asyncio.to_thread(read_all, paths), 5)
    await bench.run("aiofiles, one file at a time", aiofiles_one_by_one, 5)
    await bench.run("aiofiles, all 200 gathered", aiofiles_gathered, 5)


async def large_file(bench: Bench, path: Path) -> None:
    print("2. read one 16 MiB export (median of 5)")

    async def sync_chunks() -> int:
        return read_in_chunks(path, 64 * 1024)

    await bench.run("sync, 64 KiB reads", sync_chunks, 5)
    in_thread = lambda: asyncio.to_thread(read_in_chunks, path, 64 * 1024)  # noqa: E731
    await bench.run("one to_thread(), 64 KiB reads", in_thread, 5)
    await bench.run("aiofiles, 64 KiB reads", lambda: aio_chunks(path, 64 * 1024), 5)
    await bench.run("aiofiles, 1 MiB reads", lambda: aio_chunks(path, 1024 * 1024), 5)


async def log_lines(bench: Bench, path: Path) -> None:
    print("3. count ERROR lines in a 2,000-line log (median of 3)")

    async def sync_lines() -> int:
        return count_errors(path)

    async def aiofiles_async_for() -> int:
        errors = 0
        async with aiofiles.open(path, encoding="utf-8") as log:
            async for line in log:
                errors += " ERROR " in line
        return errors

    async def aiofiles_read_once() -> int:
        async with aiofiles.open(path, encoding="utf-8") as log:
            text = await log.read()
        return sum(" ERROR " in line for line in text.splitlines())

    await bench.run("sync, for line in file", sync_lines, 3)
    await bench.run("one to_thread()", lambda: asyncio.to_thread(count_errors, path), 3)
    await bench.run("aiofiles, async for line", aiofiles_async_for, 3)
    await bench.run("aiofiles, read() then splitlines()", aiofiles_read_once, 3)


async def main() -> None:
    pool = HopCounter()
    asyncio.get_running_loop().set_default_executor(pool)
    rng = random.Random(69)
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        folder = Path(name)
        paths = [folder / f"inv-{n:03d}.pdf" for n in range(200)]
        for path in paths:
            path.write_bytes(rng.randbytes(4096))
        export = folder / "export.bin"
        export.write_bytes(rng.randbytes(16 * 1024 * 1024))
        log = folder / "api.log"
        levels = ["INFO"] * 9 + ["ERROR"]
        log.write_text(
            "".join(f"12:00:{n % 60:02d} {rng.choice(levels)} order {n}\n" for n in range(2000)),
            encoding="utf-8",
        )
        await small_files(Bench(pool), paths)
        await large_file(Bench(pool), export)
        await log_lines(Bench(pool), log)


if __name__ == "__main__":
    asyncio.run(main())
