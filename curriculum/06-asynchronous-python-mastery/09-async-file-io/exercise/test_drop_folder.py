import asyncio
import hashlib
import os
import random
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import drop_folder
import pytest
from drop_folder import collect_batch, sha256_of, wait_for_uploads, write_atomic


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


def temporary_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def upload(folder: Path, name: str, body: str) -> None:
    """How a well-behaved partner uploads: a hidden .tmp file, renamed when complete."""
    partial = folder / f".{name}.tmp"
    partial.write_text(body, encoding="utf-8")
    os.replace(partial, folder / name)


# write_atomic -------------------------------------------------------------------------------


def test_write_atomic_writes_every_chunk_and_returns_the_byte_count(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"
    written = asyncio.run(write_atomic(target, chunks_of(b"number,total\n", b"INV-1,100\n")))
    assert target.read_bytes() == b"number,total\nINV-1,100\n", "the file holds every chunk"
    assert written == 23, f"write_atomic returns the number of bytes written, got {written!r}"


def test_write_atomic_replaces_a_file_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"
    target.write_bytes(b"old contents that are longer than the new ones\n")
    asyncio.run(write_atomic(target, chunks_of(b"new\n")))
    assert target.read_bytes() == b"new\n", "the old content is replaced, not appended to"
    assert temporary_files(tmp_path) == [], "the temporary file is renamed, not left behind"


def test_write_atomic_stages_a_hidden_tmp_file_in_the_same_folder(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"
    target.write_bytes(b"version 1\n")
    seen: dict[str, object] = {}

    async def observed() -> AsyncIterator[bytes]:
        yield b"version "
        seen["during"] = target.read_bytes()
        seen["staged"] = [n for n in os.listdir(tmp_path) if n != "invoices.csv"]
        yield b"2\n"

    asyncio.run(write_atomic(target, observed()))
    assert seen["during"] == b"version 1\n", "while streaming, readers still see the old file"
    staged = seen["staged"]
    assert isinstance(staged, list) and len(staged) == 1, (
        f"exactly one temporary file sits beside the target while writing, found {staged}"
    )
    assert staged[0].startswith(".invoices.csv.") and staged[0].endswith(".tmp"), (
        f"the temporary file is named .<name>.<random>.tmp, got {staged[0]!r}; the same folder "
        "keeps the final rename atomic, and the dot hides it from watchers like ours"
    )
    assert target.read_bytes() == b"version 2\n"


def test_write_atomic_keeps_the_old_file_when_the_source_fails(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"
    target.write_bytes(b"version 1\n")

    async def failing() -> AsyncIterator[bytes]:
        yield b"half of version 2"
        raise ConnectionResetError("the partner's upload broke off")

    with pytest.raises(ConnectionResetError):
        asyncio.run(write_atomic(target, failing()))
    assert target.read_bytes() == b"version 1\n", "a failed write must not touch the target"
    assert temporary_files(tmp_path) == [], "the temporary file is removed when writing fails"


def test_write_atomic_cleans_up_when_it_is_cancelled(tmp_path: Path) -> None:
    target = tmp_path / "invoices.csv"
    target.write_bytes(b"version 1\n")

    async def scenario() -> None:
        streaming = asyncio.Event()

        async def stalled() -> AsyncIterator[bytes]:
            yield b"half of version 2"
            streaming.set()
            await asyncio.Event().wait()  # the sender stops sending; a timeout will cancel us
            yield b"never"

        task = asyncio.create_task(write_atomic(target, stalled()))
        started = asyncio.create_task(streaming.wait())
        await asyncio.wait([task, started], timeout=5, return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if task.done():
            task.result()  # re-raises whatever write_atomic raised
            pytest.fail("write_atomic returned before its stream ended: consume every chunk")
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert target.read_bytes() == b"version 1\n", "a cancelled write must not touch the target"
    assert temporary_files(tmp_path) == [], (
        "CancelledError is a BaseException: cleanup written as `except Exception` skips it "
        "and leaves the .tmp file behind on every timeout"
    )


# sha256_of ----------------------------------------------------------------------------------


def test_sha256_of_matches_hashlib_for_empty_exact_and_uneven_chunks(tmp_path: Path) -> None:
    for size in (0, 1, 4096, 65_536, 200_001):
        data = random.Random(size).randbytes(size)
        path = tmp_path / f"upload-{size}.bin"
        path.write_bytes(data)
        digest = asyncio.run(sha256_of(path, chunk_size=4096))
        assert digest == hashlib.sha256(data).hexdigest(), f"wrong digest for a {size}-byte file"


def test_sha256_of_reads_in_chunks_instead_of_loading_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "export.bin"
    path.write_bytes(random.Random(7).randbytes(8 * 1024 * 1024))
    tracemalloc.start()
    try:
        asyncio.run(sha256_of(path, chunk_size=64 * 1024))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, (
        f"hashing an 8 MiB file peaked at {peak / 1024 / 1024:.1f} MiB; read(chunk_size) in a "
        "loop keeps it near one chunk, read() of everything costs the whole file"
    )


def test_invalid_arguments_raise_value_error(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("x\n")
    with pytest.raises(ValueError):
        asyncio.run(sha256_of(tmp_path / "a.csv", chunk_size=0))
    with pytest.raises(ValueError):
        asyncio.run(wait_for_uploads(tmp_path, expected=0, timeout=1))


# wait_for_uploads ---------------------------------------------------------------------------


def test_wait_for_uploads_returns_at_once_when_the_files_are_already_there(
    tmp_path: Path,
) -> None:
    for name in ("inv-2.csv", "inv-1.csv"):
        upload(tmp_path, name, "number,total\n")
    started = time.monotonic()
    names = asyncio.run(wait_for_uploads(tmp_path, expected=2, timeout=10))
    assert names == ["inv-1.csv", "inv-2.csv"], f"sorted names of the uploads, got {names}"
    assert time.monotonic() - started < 5, (
        "files that were there before the call count: look at the folder before waiting"
    )


def test_wait_for_uploads_wakes_up_for_files_that_arrive_later(tmp_path: Path) -> None:
    async def scenario() -> list[str]:
        async def partner() -> None:
            for name in ("inv-7.csv", "inv-8.csv"):
                await asyncio.sleep(0.3)
                upload(tmp_path, name, "number,total\nINV-7,10\n")

        async with asyncio.TaskGroup() as group:
            group.create_task(partner())
            waiting = group.create_task(wait_for_uploads(tmp_path, expected=2, timeout=10))
        return waiting.result()

    assert asyncio.run(scenario()) == ["inv-7.csv", "inv-8.csv"]


def test_wait_for_uploads_ignores_temporary_hidden_other_and_nested_files(
    tmp_path: Path,
) -> None:
    (tmp_path / ".inv-3.csv.tmp").write_text("partial")
    (tmp_path / ".hidden.csv").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "archive").mkdir()
    (tmp_path / "archive" / "inv-0.csv").write_text("x")
    (tmp_path / "folder.csv").mkdir()
    upload(tmp_path, "inv-1.csv", "number,total\n")
    assert asyncio.run(wait_for_uploads(tmp_path, expected=1, timeout=5)) == ["inv-1.csv"]
    with pytest.raises(TimeoutError):
        asyncio.run(wait_for_uploads(tmp_path, expected=2, timeout=0.5))


def test_wait_for_uploads_raises_timeout_error_when_too_few_arrive(tmp_path: Path) -> None:
    upload(tmp_path, "inv-1.csv", "number,total\n")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        asyncio.run(wait_for_uploads(tmp_path, expected=3, timeout=0.5))
    elapsed = time.monotonic() - started
    assert elapsed < 5, f"a 0.5 s timeout took {elapsed:.1f} s: put one deadline on the wait"


# collect_batch ------------------------------------------------------------------------------


def test_collect_batch_moves_the_uploads_to_processed_and_returns_checksums(
    tmp_path: Path,
) -> None:
    bodies = {"inv-1.csv": "number,total\nINV-1,100\n", "inv-2.csv": "number,total\nINV-2,7\n"}
    for name, body in bodies.items():
        upload(tmp_path, name, body)
    result = asyncio.run(collect_batch(tmp_path, expected=2, timeout=5))
    expected = {name: hashlib.sha256(body.encode()).hexdigest() for name, body in bodies.items()}
    assert result == expected, "each name maps to the SHA-256 of its content"
    assert sorted(os.listdir(tmp_path / "processed")) == ["inv-1.csv", "inv-2.csv"]
    assert sorted(os.listdir(tmp_path)) == ["processed"], "processed files leave the inbox"


def test_collect_batch_hashes_concurrently_but_never_more_than_max_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(8):
        upload(tmp_path, f"inv-{n}.csv", f"number,total\nINV-{n},{n}\n")
    in_flight, peak = 0, 0

    async def slow_sha256_of(path: Path, chunk_size: int = 64 * 1024) -> str:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return "digest-of-" + path.name

    monkeypatch.setattr(drop_folder, "sha256_of", slow_sha256_of)
    result = asyncio.run(collect_batch(tmp_path, expected=8, timeout=5, max_open=3))
    assert len(result) == 8, "every upload is processed"
    assert peak <= 3, f"{peak} files were hashed at once with max_open=3: bound it"
    assert peak > 1, "files were hashed one after another: run the hashes concurrently"
