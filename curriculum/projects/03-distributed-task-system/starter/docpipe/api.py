"""The HTTP status API: `python -m docpipe.api --port 8080` (0 picks a free port).

Run blocking work (SQL through SQLAlchemy, publishing through kombu) in a thread with
asyncio.to_thread, so one slow database call never stalls every other request.
"""

import argparse
import asyncio
import logging
from collections.abc import Sequence

from aiohttp import web

logger = logging.getLogger(__name__)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def create_job(request: web.Request) -> web.Response:
    """POST /jobs: 400 for a body that is not JSON, 422 (with InvalidDocument's message) for a
    document that breaks the contract, else submit it and answer 201 {"id", "state",
    "status_url"} with a Location header."""
    raise NotImplementedError("TODO: create_job")


async def show_job(request: web.Request) -> web.Response:
    """GET /jobs/{job_id}: the job_status() dict, or 404 {"error": ...}."""
    raise NotImplementedError("TODO: show_job")


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
    """Create the tables, start the server (web.AppRunner and web.TCPSite, not
    web.run_app: with port 0 you need the bound port, runner.addresses), print
    `docpipe API listening on http://HOST:PORT` with flush=True, and run until SIGINT or
    SIGTERM, then clean up the runner."""
    raise NotImplementedError("TODO: serve")


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
