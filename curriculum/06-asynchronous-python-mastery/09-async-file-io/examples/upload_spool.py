"""A document upload service: stream request bodies to disk, serve files back with sendfile.

PUT /tenants/{tenant}/documents/{name} streams the body into a temporary file with aiofiles,
hashing it and enforcing a size limit as it goes, then renames it into place. GET returns it
with web.FileResponse. The client streams its files from disk too. The server listens on an
ephemeral port on 127.0.0.1; the spool and the client's files live in a temporary directory.
"""

import asyncio
import contextlib
import hashlib
import logging
import os
import random
import re
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiofiles
import aiofiles.os
from aiohttp import ClientSession, web

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log: %(name)s: %(message)s")
log = logging.getLogger("documents")

MAX_UPLOAD = 2 * 1024 * 1024
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
SPOOL = web.AppKey("spool", Path)


def document_path(request: web.Request) -> Path:
    tenant, name = request.match_info["tenant"], request.match_info["name"]
    if not (SAFE_NAME.match(tenant) and SAFE_NAME.match(name)):
        raise web.HTTPBadRequest(text="tenant and document names: letters, digits, . _ -\n")
    return request.app[SPOOL] / tenant / name


async def store_document(request: web.Request) -> web.Response:
    target = document_path(request)
    await aiofiles.os.makedirs(target.parent, exist_ok=True)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    digest, size = hashlib.sha256(), 0
    try:
        async with aiofiles.open(partial, "xb") as spool:
            async for chunk in request.content.iter_chunked(256 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD:  # client_max_size does not apply to a streamed body
                    log.warning("rejected %s: over %s bytes", target.name, f"{MAX_UPLOAD:,}")
                    raise web.HTTPRequestEntityTooLarge(max_size=MAX_UPLOAD, actual_size=size)
                digest.update(chunk)
                await spool.write(chunk)
            await spool.flush()
            await asyncio.to_thread(os.fsync, spool.fileno())
        await aiofiles.os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(partial)
        raise
    log.info("stored %s/%s, %s bytes", target.parent.name, target.name, f"{size:,}")
    return web.json_response({"bytes": size, "sha256": digest.hexdigest()}, status=201)


async def fetch_document(request: web.Request) -> web.FileResponse:
    target = document_path(request)
    if not await aiofiles.os.path.isfile(target):
        raise web.HTTPNotFound()
    return web.FileResponse(target)  # sendfile(2) where it can; chunks in a thread if not


async def file_chunks(path: Path, on_chunk: Callable[[bytes], None]) -> AsyncIterator[bytes]:
    async with aiofiles.open(path, "rb") as source:
        while chunk := await source.read(256 * 1024):
            on_chunk(chunk)  # e.g. hash what is sent, without reading the file twice
            yield chunk


async def upload(session: ClientSession, base: str, path: Path) -> str:
    url = f"{base}/tenants/tenant-7/documents/{path.name}"
    sent = hashlib.sha256()
    async with session.put(url, data=file_chunks(path, sent.update)) as response:
        if response.status != 201:
            return f"{path.name}: {response.status} {(await response.text()).strip()}"
        body = await response.json()
    matches = body["sha256"] == sent.hexdigest()
    return f"{path.name}: 201, {body['bytes']:,} bytes, checksum matches: {matches}"


async def main() -> None:
    rng = random.Random(69)
    with tempfile.TemporaryDirectory(prefix="s6_9_") as name:
        root = Path(name)
        outbox, spool = root / "client", root / "spool"
        outbox.mkdir()
        sizes = {"contract-2024.pdf": 1_400_000, "scan-0042.tiff": 3_000_000, ".env": 900}
        for file_name, size in sizes.items():
            (outbox / file_name).write_bytes(rng.randbytes(size))

        app = web.Application()
        app[SPOOL] = spool
        app.router.add_put("/tenants/{tenant}/documents/{name}", store_document)
        app.router.add_get("/tenants/{tenant}/documents/{name}", fetch_document)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        base = f"http://{host}:{port}"
        try:
            async with ClientSession() as session:
                print("1. three uploads, each streamed from disk to disk")
                for path in sorted(outbox.iterdir()):
                    print(f"   {await upload(session, base, path)}")
                print("2. download with FileResponse")
                url = f"{base}/tenants/tenant-7/documents/contract-2024.pdf"
                async with session.get(url) as response:
                    served = await response.read()
                original = (outbox / "contract-2024.pdf").read_bytes()
                print(
                    f"   {response.status}, {len(served):,} bytes, same bytes: {served == original}"
                )
                async with session.get(f"{base}/tenants/tenant-7/documents/scan-0042.tiff") as gone:
                    print(f"   the rejected upload: {gone.status}")
        finally:
            await runner.cleanup()
        print(f"3. spool contents: {sorted(p.name for p in (spool / 'tenant-7').iterdir())}")


if __name__ == "__main__":
    asyncio.run(main())
