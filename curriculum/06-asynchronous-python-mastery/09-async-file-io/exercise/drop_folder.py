"""A partner drop folder: atomic writes, chunked checksums, and waiting for uploads to land.

Partners upload invoice CSVs into a folder; the billing service waits for a batch, checksums
each file and moves it to processed/. Every function is a coroutine and must not block the
event loop for longer than one small file operation.
"""

import asyncio  # noqa: F401  (you will need these once you write the TODOs)
import contextlib  # noqa: F401
import hashlib  # noqa: F401
import os  # noqa: F401
import uuid  # noqa: F401
from collections.abc import AsyncIterable
from pathlib import Path

import aiofiles
import aiofiles.os  # noqa: F401
from watchfiles import Change, awatch  # noqa: F401


async def write_atomic(path: Path, chunks: AsyncIterable[bytes]) -> int:
    """Write the chunks to `path` so that no reader ever sees a partial file.

    Stream the chunks into a temporary file in the same folder, named ".<name>.<random>.tmp",
    flush it and fsync it, then rename it over `path`. Return the number of bytes written.
    If anything fails, including cancellation, remove the temporary file and re-raise: `path`
    keeps whatever it held before.
    """
    # TODO: build the temporary name beside `path` (uuid.uuid4().hex gives the random part).
    # TODO: open it with aiofiles in "xb" mode, write each chunk, flush, and fsync the file
    #       descriptor through asyncio.to_thread(os.fsync, handle.fileno()).
    # TODO: aiofiles.os.replace() it over `path`; on any BaseException remove the temporary
    #       file (it may not exist) and re-raise.
    raise NotImplementedError("write_atomic")


async def sha256_of(path: Path, chunk_size: int = 64 * 1024) -> str:
    """The file's SHA-256 as hex, read `chunk_size` bytes at a time (memory stays flat).

    Raises ValueError when chunk_size is smaller than 1.
    """
    # TODO: validate chunk_size, then feed hashlib.sha256() one read(chunk_size) at a time.
    raise NotImplementedError("sha256_of")


async def wait_for_uploads(folder: Path, expected: int, timeout: float) -> list[str]:
    """Sorted names of the finished uploads in `folder`, once there are at least `expected`.

    A finished upload is a file directly inside `folder` whose name ends with ".csv" and does
    not start with "."; files already there count. Raises TimeoutError when fewer than
    `expected` are there after `timeout` seconds, and ValueError when expected < 1.
    """
    # TODO: validate `expected`.
    # TODO: under one asyncio.timeout(timeout): list the folder first; if that is not enough,
    #       iterate awatch(folder, ...) and list the folder again on every wake-up. Events
    #       only tell you when to look; the listing tells you what is there.
    raise NotImplementedError("wait_for_uploads")


async def collect_batch(
    folder: Path, expected: int, timeout: float, max_open: int = 4
) -> dict[str, str]:
    """Wait for `expected` uploads, checksum them, and move them into folder/"processed".

    Returns {name: sha256 hex} for the files moved. At most `max_open` files are hashed at
    the same time (call sha256_of for each). The processed folder is created if missing.
    """
    # TODO: wait_for_uploads, create processed/, then hash the files concurrently under an
    #       asyncio.Semaphore(max_open) and move each one with aiofiles.os.replace().
    raise NotImplementedError("collect_batch")
