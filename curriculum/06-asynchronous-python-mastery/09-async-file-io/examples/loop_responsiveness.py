"""How long does file work stall the event loop? Sync calls, aiofiles and one to_thread().

A reporting service writes a 24 MiB nightly report, makes it durable with fsync, and reads it
back twice: once after asking the kernel to drop it from the page cache (a cold read) and
once warm. A ticker task that wants to run every 5 ms measures the longest stall of the loop.
Figures vary from run to run and are masked in the recorded output.
"""

import asyncio
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiofiles
import aiofiles.os

REPORT_MB = 24
CHUNK = 1024 * 1024
BLOCK = bytes(range(256)) * (CHUNK // 256)  # 1 MiB of report data, the same every run


class Ticker:
    """Wakes every `interval` seconds and records how late each wake-up was."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.worst = 0.0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            planned = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            self.worst = max(self.worst, loop.time() - planned)


def drop_from_page_cache(path: Path) -> None:
    """Ask Linux to forget the file's cached pages, so the next read goes to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def blocking_report(path: Path) -> int:
    with open(path, "wb") as report:
        for _ in range(REPORT_MB):
            report.write(BLOCK)
        report.flush()
        os.fsync(report.fileno())
    drop_from_page_cache(path)
    total = 0
    for _ in range(2):  # cold, then warm
        with open(path, "rb") as report:
            while chunk := report.read(CHUNK):
                total += len(chunk)
    return total


async def sync_in_coroutine(path: Path) -> int:
    return blocking_report(path)  # every call below this line runs on the loop's thread


async def with_aiofiles(path: Path) -> int:
    async with aiofiles.open(path, "wb") as report:
        for _ in range(REPORT_MB):
            await report.write(BLOCK)
        await report.flush()
        await asyncio.to_thread(os.fsync, report.fileno())  # aiofiles.os has no fsync
    await asyncio.to_thread(drop_from_page_cache, path)
    total = 0
    for _ in range(2):
        async with aiofiles.open(path, "rb") as report:
            while chunk := await report.read(CHUNK):
                total += len(chunk)
    return total


async def one_to_thread(path: Path) -> int:
    return await asyncio.to_thread(blocking_report, path)


async def stat_sync(folder: Path) -> int:
    return sum(os.stat(folder / f"inv-{n}.pdf").st_size for n in range(200))


async def stat_aiofiles(folder: Path) -> int:
    sizes = [(await aiofiles.os.stat(folder / f"inv-{n}.pdf")).st_size for n in range(200)]
    return sum(sizes)


async def measure(name: str, work: Callable[[], Awaitable[int]]) -> None:
    ticker = Ticker()
    ticking = asyncio.create_task(ticker.run())
    await asyncio.sleep(0.02)  # let the ticker settle before measuring
    ticker.worst = 0.0
    started = time.perf_counter()
    result = await work()
    elapsed = (time.perf_counter() - started) * 1000
    await asyncio.sleep(2 * ticker.interval)  # a stalled ticker can only notice once it runs
    ticking.cancel()
    stall = ticker.worst * 1000
    print(f"   {name:<24} total {elapsed:8.1f} ms   longest loop stall {stall:7.1f} ms")
    print(f"   {'':<24} result {result:,}")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        folder = Path(name)
        report = folder / "report-2024-06.bin"
        print(f"1. write {REPORT_MB} MiB + fsync, drop from cache, read back cold and warm")
        await measure("sync in the coroutine", lambda: sync_in_coroutine(report))
        await measure("aiofiles, 1 MiB calls", lambda: with_aiofiles(report))
        await measure("one asyncio.to_thread()", lambda: one_to_thread(report))

        for n in range(200):
            (folder / f"inv-{n}.pdf").write_bytes(b"%PDF" + bytes(n))
        print("2. stat() 200 small invoice files (metadata only, warm cache)")
        await measure("sync in the coroutine", lambda: stat_sync(folder))
        await measure("aiofiles.os.stat", lambda: stat_aiofiles(folder))


if __name__ == "__main__":
    asyncio.run(main())
