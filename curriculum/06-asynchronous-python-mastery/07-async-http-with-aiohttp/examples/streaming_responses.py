"""Streaming a response in and out: memory, line iteration, downloads, uploads, long lines.

A local aiohttp server (127.0.0.1, port 0) streams a 40,000-row NDJSON order export with
StreamResponse, sends progress events with pauses between them, and accepts a streamed
upload. Peak memory comes from tracemalloc; it and the timings are masked in the recording.
"""

import asyncio
import hashlib
import json
import logging
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import aiohttp
from aiohttp import web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("exports")

ROWS = 40_000
EXPORT = "".join(
    f'{{"order": "ORD-{n:06d}", "tenant": "t{n % 7}", "total_cents": {n * 7919 % 100_000}}}\n'
    for n in range(ROWS)
).encode()
EXPORT_SHA256 = hashlib.sha256(EXPORT).hexdigest()
BLOCK = 64 * 1024
PROGRESS = SimpleNamespace(sent=0)  # how many progress events the server has written


async def order_export(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={"Content-Type": "application/x-ndjson", "X-Export-SHA256": EXPORT_SHA256}
    )
    await response.prepare(request)  # sends the status line and headers now
    for start in range(0, len(EXPORT), BLOCK):
        await response.write(EXPORT[start : start + BLOCK])  # waits while the socket is full
    await response.write_eof()
    return response


async def progress_events(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
    await response.prepare(request)
    for step, stage in enumerate(["queued", "rendering", "uploading", "done"], start=1):
        await response.write(json.dumps({"step": step, "stage": stage}).encode() + b"\n")
        PROGRESS.sent = step
        await asyncio.sleep(0.15)
    await response.write_eof()
    return response


async def receive_upload(request: web.Request) -> web.Response:
    digest, size = hashlib.sha256(), 0
    async for chunk in request.content.iter_chunked(BLOCK):  # never more than 64 KiB at once
        digest.update(chunk)
        size += len(chunk)
    return web.json_response(
        {
            "bytes": size,
            "sha256_matches": digest.hexdigest() == EXPORT_SHA256,
            "transfer_encoding": request.headers.get("Transfer-Encoding"),
        }
    )


async def one_long_line(request: web.Request) -> web.Response:
    return web.Response(body=b'{"note": "' + b"x" * 600_000 + b'"}\n')


async def peak_memory(session: aiohttp.ClientSession, url: str, mode: str) -> tuple[int, float]:
    """Count the rows of the export; returns (rows, peak MiB allocated meanwhile)."""
    tracemalloc.start()
    rows = 0
    async with session.get(url) as response:
        if mode == "read()":
            body = await response.read()
            rows = body.count(b"\n")
            del body
        else:
            async for chunk in response.content.iter_chunked(BLOCK):
                rows += chunk.count(b"\n")
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return rows, peak


async def parse_time(session: aiohttp.ClientSession, url: str, mode: str) -> tuple[int, float]:
    """Sum total_cents over every row; returns (sum, seconds)."""
    started = time.perf_counter()
    total = 0
    async with session.get(url) as response:
        if mode == "async for line":
            async for line in response.content:
                total += json.loads(line)["total_cents"]
        else:  # split 64 KiB blocks ourselves, carrying the partial last line over
            pending = b""
            async for block in response.content.iter_chunked(BLOCK):
                *lines, pending = (pending + block).split(b"\n")
                total += sum(json.loads(line)["total_cents"] for line in lines)
    return total, time.perf_counter() - started


async def file_chunks(path: Path) -> AsyncIterator[bytes]:
    """Yield a file in blocks; a real service would read with aiofiles (section 6.9)."""
    with path.open("rb") as source:
        while block := source.read(BLOCK):
            yield block


async def run_client(root: str) -> None:
    async with aiohttp.ClientSession() as session:
        print(f"1. Counting the rows of a {len(EXPORT) / 2**20:.1f} MiB export two ways")
        for mode in ("read()", "iter_chunked()"):
            rows, peak = await peak_memory(session, f"{root}/exports/orders.ndjson", mode)
            print(f"   {mode:<16} {rows} rows, peak {peak:.2f} MiB")

        print("2. Lines arrive while the server is still sending")
        async with session.get(f"{root}/exports/progress") as response:
            print(
                f"   Transfer-Encoding: {response.headers['Transfer-Encoding']}, "
                f"Content-Length: {response.content_length}"
            )
            async for line in response.content:
                event = json.loads(line)
                sent = PROGRESS.sent
                print(
                    f"   got step {event['step']} ({event['stage']}); server has sent {sent} of 4"
                )

        print("3. Download to a file in 64 KiB blocks and check the digest")
        with tempfile.TemporaryDirectory() as folder:
            target = Path(folder) / "orders.ndjson"
            async with session.get(f"{root}/exports/orders.ndjson") as response:
                expected = response.headers["X-Export-SHA256"]
                digest = hashlib.sha256()
                with target.open("wb") as out:  # blocking writes: aiofiles in section 6.9
                    async for chunk in response.content.iter_chunked(BLOCK):
                        digest.update(chunk)
                        out.write(chunk)
            print(
                f"   {target.stat().st_size} bytes written, digest matches: "
                f"{digest.hexdigest() == expected}"
            )

            print("4. Upload the file as a stream: an async generator as the body")
            async with session.post(f"{root}/imports", data=file_chunks(target)) as response:
                print(f"   server answered {await response.json()}")

        print("5. A line longer than the reader's limit")
        async with session.get(f"{root}/exports/long-line") as response:
            try:
                async for _line in response.content:
                    pass
            except Exception as error:  # deliberately broad: show what is and isn't a ClientError
                log.warning("line iteration stopped: %s", type(error).__name__)
                print(f"   {str(error).splitlines()[-1].split(':')[0].strip()}")
                print(f"   is a ClientError: {isinstance(error, aiohttp.ClientError)}")

        print("6. Parsing every row: readline per row against splitting 64 KiB blocks")
        for mode in ("async for line", "split blocks"):
            total, took = await parse_time(session, f"{root}/exports/orders.ndjson", mode)
            print(f"   {mode:<16} total_cents={total}, {took * 1000:.0f} ms")


async def main() -> None:
    app = web.Application()
    app.router.add_get("/exports/orders.ndjson", order_export)
    app.router.add_get("/exports/progress", progress_events)
    app.router.add_get("/exports/long-line", one_long_line)
    app.router.add_post("/imports", receive_upload)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]
    try:
        await run_client(f"http://{host}:{port}")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
