"""A partner drop folder: atomic writes, chunked checksums, and waiting for uploads to land.

Partners upload invoice CSVs into a folder; the billing service waits for a batch, checksums
each file and moves it to processed/. Every function is a coroutine and must not block the
event loop for longer than one small file operation.
"""

import asyncio
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterable
from pathlib import Path

import aiofiles
import aiofiles.os
from watchfiles import Change, awatch


async def write_atomic(path: Path, chunks: AsyncIterable[bytes]) -> int:
    """Write the chunks to `path` so that no reader ever sees a partial file.

    Stream the chunks into a temporary file in the same folder, named ".<name>.<random>.tmp",
    flush it and fsync it, then rename it over `path`. Return the number of bytes written.
    If anything fails, including cancellation, remove the temporary file and re-raise: `path`
    keeps whatever it held before.
    """
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    written = 0
    try:
        async with aiofiles.open(temporary, "xb") as handle:
            async for chunk in chunks:
                await handle.write(chunk)
                written += len(chunk)
            await handle.flush()
            await asyncio.to_thread(os.fsync, handle.fileno())
        await aiofiles.os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        raise
    return written


async def sha256_of(path: Path, chunk_size: int = 64 * 1024) -> str:
    """The file's SHA-256 as hex, read `chunk_size` bytes at a time (memory stays flat).

    Raises ValueError when chunk_size is smaller than 1.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    digest = hashlib.sha256()
    async with aiofiles.open(path, "rb") as source:
        while chunk := await source.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def is_upload(name: str) -> bool:
    return name.endswith(".csv") and not name.startswith(".")


def finished_uploads(folder: Path) -> list[str]:
    with os.scandir(folder) as entries:  # one thread hop for the listing and the type checks
        return sorted(entry.name for entry in entries if entry.is_file() and is_upload(entry.name))


async def wait_for_uploads(folder: Path, expected: int, timeout: float) -> list[str]:
    """Sorted names of the finished uploads in `folder`, once there are at least `expected`.

    A finished upload is a file directly inside `folder` whose name ends with ".csv" and does
    not start with "."; files already there count. Raises TimeoutError when fewer than
    `expected` are there after `timeout` seconds, and ValueError when expected < 1.
    """
    if expected < 1:
        raise ValueError(f"expected must be at least 1, got {expected}")

    def relevant(change: Change, path: str) -> bool:
        return is_upload(os.path.basename(path))

    async with asyncio.timeout(timeout):
        names = await asyncio.to_thread(finished_uploads, folder)
        if len(names) >= expected:
            return names
        async for _changes in awatch(
            folder,
            watch_filter=relevant,
            recursive=False,
            step=50,
            rust_timeout=500,
            yield_on_timeout=True,  # re-check the listing now and then, events or not
        ):
            names = await asyncio.to_thread(finished_uploads, folder)
            if len(names) >= expected:
                return names
    raise RuntimeError("the watcher stopped before the uploads arrived")


async def collect_batch(
    folder: Path, expected: int, timeout: float, max_open: int = 4
) -> dict[str, str]:
    """Wait for `expected` uploads, checksum them, and move them into folder/"processed".

    Returns {name: sha256 hex} for the files moved. At most `max_open` files are hashed at
    the same time (call sha256_of for each). The processed folder is created if missing.
    """
    names = await wait_for_uploads(folder, expected, timeout)
    processed = folder / "processed"
    await aiofiles.os.makedirs(processed, exist_ok=True)
    gate = asyncio.Semaphore(max_open)

    async def settle(name: str) -> tuple[str, str]:
        async with gate:
            digest = await sha256_of(folder / name)
        await aiofiles.os.replace(folder / name, processed / name)
        return name, digest

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(settle(name)) for name in names]
    return dict(task.result() for task in tasks)
