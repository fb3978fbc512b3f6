"""The HTTP status API: `python -m docpipe.api --port 8080` (0 picks a free port).

Handlers run the blocking work (SQL through SQLAlchemy, publishing through kombu) in a thread
with asyncio.to_thread, so one slow database call never stalls every other request.
"""

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from docpipe.documents import InvalidDocument, parse_document
from docpipe.jobs import create_tables, job_status, submit

logger = logging.getLogger(__name__)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def create_job(request: web.Request) -> web.Response:
    try:
        raw: Any = await request.json()
    except json.JSONDecodeError as problem:
        return error(400, f"the body is not valid JSON: {problem}")
    except UnicodeDecodeError:
        return error(400, "the body is not UTF-8 text")
    try:
        document = parse_document(raw)
    except InvalidDocument as problem:
        return error(422, str(problem))
    try:
        job_id = await asyncio.to_thread(submit, document)
    except Exception:  # the database or the broker is down: the client may try again
        logger.exception("could not queue a job titled %r", document.title)
        return error(503, "the job could not be queued; try again shortly")
    location = f"/jobs/{job_id}"
    return web.json_response(
        {"id": job_id, "state": "queued", "status_url": location},
        status=201,
        headers={"Location": location},
    )


async def show_job(request: web.Request) -> web.Response:
    job_id = request.match_info["job_id"]
    status = await asyncio.to_thread(job_status, job_id)
    if status is None:
        return error(404, f"there is no job with id {job_id!r}")
    return web.json_response(status)


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app() -> web.Application:
    app = web.Application()
    app.add_routes(
        [
            web.post("/jobs", create_job),
            web.get("/jobs/{job_id}", show_job),
            web.get("/health", health),
        ]
    )
    return app


async def serve(host: str, port: int) -> None:
    await asyncio.to_thread(create_tables)
    runner = web.AppRunner(build_app(), access_log=logger)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        bound_host, bound_port = runner.addresses[0][:2]
        # The acceptance suite (and a supervisor) reads this line to learn the port.
        print(f"docpipe API listening on http://{bound_host}:{bound_port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        logger.info("shutting down")
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m docpipe.api", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--log-level", default="INFO")
    options = parser.parse_args(argv)
    logging.basicConfig(
        level=options.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(options.host, options.port))


if __name__ == "__main__":
    main()
