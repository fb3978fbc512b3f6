"""Watching a partner's drop folder with watchfiles.awatch: what a batch holds, and ingesting.

Partners upload invoice CSVs into an inbox folder. Part 1 shows the raw batches awatch
yields for common ways of writing a file; part 2 filters them; part 3 is an ingester that
treats events only as a wake-up call and the directory listing as the truth.
"""

import asyncio
import hashlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiofiles
import aiofiles.os
from watchfiles import Change, DefaultFilter, awatch

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log: %(message)s")
log = logging.getLogger("inbox")
logging.getLogger("watchfiles").setLevel(logging.WARNING)  # it logs every batch at INFO


class CompletedCsv(DefaultFilter):
    """DefaultFilter's ignores (.git, __pycache__, swap files...) plus: finished CSVs only."""

    def __call__(self, change: Change, path: str) -> bool:
        name = os.path.basename(path)
        return name.endswith(".csv") and not name.startswith(".") and super().__call__(change, path)


def describe(batch: set[tuple[Change, str]]) -> str:
    return ", ".join(f"{change.name} {Path(path).name}" for change, path in sorted(batch))


async def collect(
    inbox: Path,
    batches: asyncio.Queue[set[tuple[Change, str]]],
    watch_filter: Callable[[Change, str], bool] | None,
) -> None:
    async for batch in awatch(inbox, watch_filter=watch_filter, step=50):
        await batches.put(batch)


async def raw_batches(inbox: Path) -> None:
    print("1. one batch per action (watch_filter=None, step=50 ms)")
    batches: asyncio.Queue[set[tuple[Change, str]]] = asyncio.Queue()
    watcher = asyncio.create_task(collect(inbox, batches, watch_filter=None))
    await asyncio.sleep(0)  # the watcher's first step creates the OS watch before it awaits

    async def show(action: str, expected_batches: int = 1) -> None:
        for _ in range(expected_batches):
            batch = await asyncio.wait_for(batches.get(), timeout=5)
            print(f"   {action:<38} -> {describe(batch)}")
            action = ""

    (inbox / "inv-001.csv").write_text("number,total\nINV-1,100\n")
    await show("one write_text()")
    with open(inbox / "inv-002.csv", "w") as upload:
        upload.write("number,total\n")
        upload.flush()
        await asyncio.sleep(0.3)  # a slow upload: the rest arrives later
        upload.write("INV-2,250\n")
    await show("two writes, 300 ms apart", expected_batches=2)
    with open(inbox / "inv-001.csv", "a") as upload:
        for n in range(200):
            upload.write(f"INV-1{n},1\n")
            upload.flush()
    await show("200 appends in a row")
    (inbox / ".inv-003.csv.tmp").write_text("number,total\nINV-3,75\n")
    os.replace(inbox / ".inv-003.csv.tmp", inbox / "inv-003.csv")
    await show("write .tmp, then rename")
    (inbox / "inv-001.csv").unlink()
    await show("delete")
    watcher.cancel()


async def filtered_batches(inbox: Path) -> None:
    print("2. the same rename through a filter")
    batches: asyncio.Queue[set[tuple[Change, str]]] = asyncio.Queue()
    watcher = asyncio.create_task(collect(inbox, batches, watch_filter=CompletedCsv()))
    await asyncio.sleep(0)
    (inbox / ".inv-004.csv.tmp").write_text("number,total\nINV-4,990\n")
    (inbox / "notes.txt").write_text("not an invoice\n")
    os.replace(inbox / ".inv-004.csv.tmp", inbox / "inv-004.csv")
    batch = await asyncio.wait_for(batches.get(), timeout=5)
    print(f"   {'write .tmp, notes.txt, rename':<38} -> {describe(batch)}")
    watcher.cancel()


async def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    async with aiofiles.open(path, "rb") as upload:
        while chunk := await upload.read(256 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


async def ingest(inbox: Path, done: asyncio.Queue[str], stop: asyncio.Event) -> None:
    """Process every finished CSV once; wake on events, but trust only the listing."""
    processed = inbox / "processed"
    await aiofiles.os.makedirs(processed, exist_ok=True)

    async def sweep() -> None:
        for name in sorted(await aiofiles.os.listdir(inbox)):
            if not name.endswith(".csv") or name.startswith("."):
                continue
            digest = await sha256_of(inbox / name)
            await aiofiles.os.replace(inbox / name, processed / name)
            log.info("ingested %s sha256=%s...", name, digest[:10])
            await done.put(name)

    await sweep()  # whatever arrived while nobody was watching
    async for _changes in awatch(
        inbox,
        watch_filter=CompletedCsv(),
        recursive=False,  # processed/ is ours; its renames are not news
        step=50,
        rust_timeout=1_000,
        yield_on_timeout=True,  # an empty wake-up every quiet second: a periodic sweep
        stop_event=stop,
    ):
        await sweep()


async def upload(inbox: Path, name: str, rows: int) -> None:
    temporary = inbox / f".{name}.tmp"
    async with aiofiles.open(temporary, "w", encoding="utf-8") as handle:
        await handle.write("number,total\n")
        await handle.writelines(f"INV-{n},{n * 3}\n" for n in range(rows))
    await aiofiles.os.replace(temporary, inbox / name)


async def ingestion(inbox: Path) -> None:
    print("3. an ingester: one sweep at start, one per wake-up")
    await upload(inbox, "inv-005.csv", 10)  # before the ingester starts
    done: asyncio.Queue[str] = asyncio.Queue()
    stop = asyncio.Event()
    ingester = asyncio.create_task(ingest(inbox, done, stop))
    await asyncio.wait_for(done.get(), timeout=5)
    for name, rows in (("inv-006.csv", 2_000), ("inv-007.csv", 50)):
        await upload(inbox, name, rows)
        await asyncio.wait_for(done.get(), timeout=5)
    started = time.perf_counter()
    stop.set()
    await ingester
    print(
        f"   stop_event: the watcher returned after {(time.perf_counter() - started) * 1000:.0f} ms"
    )
    print(f"   processed: {sorted(os.listdir(inbox / 'processed'))}")
    print(f"   left in the inbox: {sorted(os.listdir(inbox))}")


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        inboxes = [Path(name) / folder for folder in ("raw", "filtered", "tenant-7")]
        for inbox in inboxes:
            inbox.mkdir()
        await raw_batches(inboxes[0])
        await filtered_batches(inboxes[1])
        await ingestion(inboxes[2])


if __name__ == "__main__":
    asyncio.run(main())
