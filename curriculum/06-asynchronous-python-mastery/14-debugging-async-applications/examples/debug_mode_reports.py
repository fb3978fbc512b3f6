"""What asyncio debug mode reports: a blocking HTTP call and a coroutine nobody awaited.

A checkout handler calls a payment service through urllib, a synchronous client, and forgets
an `await` on its audit log write. The same handler runs three times: without debug mode, in
debug mode, and fixed. A local HTTP server on an ephemeral port plays the payment service.
"""

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger("checkout")


class PaymentService(BaseHTTPRequestHandler):
    """Authorizes a card after a delay given in the query string, like a slow upstream."""

    def do_GET(self) -> None:
        delay_ms = int(self.path.rpartition("delay_ms=")[2] or 0)
        time.sleep(delay_ms / 1000)
        body = json.dumps({"status": "authorized"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep the demo's output to what asyncio reports


class AuditLog:
    def __init__(self) -> None:
        self.entries: list[str] = []

    async def record(self, order_id: str, event: str) -> None:
        await asyncio.sleep(0)  # stands in for an INSERT through an async driver
        self.entries.append(f"{order_id}:{event}")


def authorize_blocking(base_url: str, delay_ms: int) -> str:
    """A synchronous HTTP call, as requests, urllib or a vendor SDK would make it."""
    with urllib.request.urlopen(f"{base_url}/authorize?delay_ms={delay_ms}", timeout=5) as reply:
        status: str = json.load(reply)["status"]
        return status


async def checkout_buggy(order_id: str, base_url: str, audit: AuditLog, delay_ms: int) -> None:
    status = authorize_blocking(base_url, delay_ms)  # blocks the event loop's thread
    audit.record(order_id, status)  # type: ignore[unused-coroutine]  # BUG: never awaited
    await asyncio.sleep(0.01)


async def checkout_blocking_only(
    order_id: str, base_url: str, audit: AuditLog, delay_ms: int
) -> None:
    status = authorize_blocking(base_url, delay_ms)  # the same blocking call, await fixed
    await audit.record(order_id, status)
    await asyncio.sleep(0.01)


async def checkout_fixed(order_id: str, base_url: str, audit: AuditLog, delay_ms: int) -> None:
    status = await asyncio.to_thread(authorize_blocking, base_url, delay_ms)
    await audit.record(order_id, status)
    await asyncio.sleep(0.01)


HANDLERS = {
    "buggy": checkout_buggy,
    "blocking only": checkout_blocking_only,
    "fixed": checkout_fixed,
}


async def serve_checkouts(
    handler_name: str, base_url: str, delay_ms: int, threshold: float
) -> None:
    loop = asyncio.get_running_loop()
    loop.slow_callback_duration = threshold
    handler = HANDLERS[handler_name]
    audit = AuditLog()
    async with asyncio.TaskGroup() as group:
        group.create_task(handler("ORD-1001", base_url, audit, delay_ms), name="checkout-ORD-1001")
    log.info(
        "debug=%s threshold=%.3fs audit entries=%s", loop.get_debug(), threshold, audit.entries
    )


# (title, debug mode, handler, upstream delay in ms, slow_callback_duration in s)
SCENARIOS = [
    ("1. debug off: a bare warning, nothing about the stall", False, "buggy", 250, 0.1),
    ("2. debug on: where the coroutine was made, the slow step", True, "buggy", 250, 0.1),
    ("3a. a 40 ms block under the default 100 ms threshold", True, "blocking only", 40, 0.1),
    ("3b. the same block, slow_callback_duration = 20 ms", True, "blocking only", 40, 0.02),
    ("3c. fixed with to_thread and await, at 50 ms", True, "fixed", 250, 0.05),
]


def how_debug_mode_is_switched_on() -> None:
    """PYTHONASYNCIODEBUG, -X dev and an explicit debug= argument, each in a fresh interpreter."""
    print("\n== 4. ways to switch debug mode on (each in a fresh interpreter)")
    probe = (
        "import asyncio, sys\n"
        "async def probe() -> None:\n"
        "    loop = asyncio.get_running_loop()\n"
        "    print(f'loop debug={loop.get_debug()}, coroutine origin depth='\n"
        "          f'{sys.get_coroutine_origin_tracking_depth()}')\n"
        "asyncio.run(probe(), debug={debug})\n"
    )
    cases = [
        ("plain python", [], {}, "None"),
        ("PYTHONASYNCIODEBUG=1", [], {"PYTHONASYNCIODEBUG": "1"}, "None"),
        ("python -X dev", ["-X", "dev"], {}, "None"),
        ("PYTHONASYNCIODEBUG=1 but run(debug=False)", [], {"PYTHONASYNCIODEBUG": "1"}, "False"),
    ]
    base_env = {k: v for k, v in os.environ.items() if k != "PYTHONASYNCIODEBUG"}
    for label, flags, extra_env, debug_arg in cases:
        result = subprocess.run(
            [sys.executable, *flags, "-c", probe.replace("{debug}", debug_arg)],
            env={**base_env, **extra_env},
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        print(f"  {label:<43} -> {result.stdout.strip()}")


# asyncio's reports name files by absolute path. The log format strips this folder and the
# standard library's folder, so the output reads the same on every machine.
PATH_PREFIXES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.__file__) + os.sep,
)


class ShortPathFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for prefix in PATH_PREFIXES:
            text = text.replace(prefix, "")
        return text.rstrip("\n")


def main() -> None:
    log_handler = logging.StreamHandler()
    log_handler.setFormatter(ShortPathFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[log_handler])
    logging.captureWarnings(True)  # RuntimeWarnings go to the log, as a service would want
    server = ThreadingHTTPServer(("127.0.0.1", 0), PaymentService)
    threading.Thread(target=server.serve_forever, name="payment-service", daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        for title, debug, handler, delay_ms, threshold in SCENARIOS:
            print(f"\n== {title}")
            asyncio.run(serve_checkouts(handler, base_url, delay_ms, threshold), debug=debug)
    finally:
        server.shutdown()
        server.server_close()
    how_debug_mode_is_switched_on()


if __name__ == "__main__":
    main()
