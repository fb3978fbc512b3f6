"""Checkout latency with the receipt sent inside the request, then handed to a Redis list.

A small HTTP server with two handler threads (think: two Gunicorn sync workers) takes six
checkouts at once, plus a health check right behind them. Sending a receipt (rendering a PDF
and talking to the mail provider) is simulated by a 200 ms sleep. The second run pushes a job
onto a Redis list instead, and a separate worker process sends the receipts.

Run as `python request_latency.py` (the worker role is `python request_latency.py worker RUN`).
"""

import http.client
import json
import logging
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import redis

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RECEIPT_SECONDS = 0.2
HANDLER_THREADS = 2
CHECKOUTS = 6

log = logging.getLogger("checkout")
Request = socket.socket | tuple[bytes, socket.socket]  # what socketserver hands a server


def send_receipt(order_id: int) -> None:
    """Render the PDF and hand it to the mail provider: simulated, 200 ms every time."""
    time.sleep(RECEIPT_SECONDS)


class CheckoutServer(HTTPServer):
    """An HTTP server whose requests run on a fixed pool of threads."""

    def __init__(self, run: str, offload: bool, queue: redis.Redis) -> None:
        super().__init__(("127.0.0.1", 0), CheckoutHandler)  # port 0: any free port
        self.pool = ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="handler")
        self.offload = offload
        self.queue = queue
        self.queue_key = f"{run}:receipts"
        self.sent_inline = 0
        self.lock = threading.Lock()

    def process_request(self, request: Request, client_address: Any) -> None:
        self.pool.submit(self.handle_in_pool, request, client_address)  # instead of handling now

    def handle_in_pool(self, request: Request, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:
            log.exception("request failed")
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.pool.shutdown(wait=True)


class CheckoutHandler(BaseHTTPRequestHandler):
    server: CheckoutServer

    def do_POST(self) -> None:
        order_id = int(self.path.removeprefix("/orders/"))
        # ... the order row is committed here; then the receipt:
        if self.server.offload:
            job = {"task": "send_receipt", "order_id": order_id, "enqueued_at": time.time()}
            self.server.queue.lpush(self.server.queue_key, json.dumps(job))
        else:
            send_receipt(order_id)
            with self.server.lock:
                self.server.sent_inline += 1
        self.reply(201, {"order_id": order_id, "status": "confirmed"})

    def do_GET(self) -> None:
        self.reply(200, {"status": "ok"})

    def reply(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log on stderr: the example prints its own summary


def timed_request(port: int, method: str, path: str) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        status = connection.getresponse().status
    finally:
        connection.close()
    return status, (time.perf_counter() - started) * 1000


def burst(port: int) -> tuple[list[int], list[float], float]:
    """Six checkouts at once, and a health check 20 ms later."""
    with ThreadPoolExecutor(CHECKOUTS + 1) as clients:
        checkouts = [
            clients.submit(timed_request, port, "POST", f"/orders/{order_id}")
            for order_id in range(5001, 5001 + CHECKOUTS)
        ]
        time.sleep(0.02)
        health = clients.submit(timed_request, port, "GET", "/health")
        statuses = [future.result()[0] for future in checkouts]
        latencies = sorted(future.result()[1] for future in checkouts)
        return statuses, latencies, health.result()[1]


def serve_and_measure(run: str, offload: bool, queue: redis.Redis) -> CheckoutServer:
    server = CheckoutServer(run, offload, queue)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    try:
        statuses, latencies, health_ms = burst(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
    print(f"   statuses: {statuses}")
    spread = {
        "fastest": latencies[0],
        "median": statistics.median(latencies),
        "slowest": latencies[-1],
    }
    print("   checkouts: " + ", ".join(f"{name} {ms:6.1f} ms" for name, ms in spread.items()))
    print(f"   GET /health sent 20 ms into the burst: {health_ms:6.1f} ms")
    return server


def worker(run: str) -> None:
    """The consumer: block on the list, send each receipt, stop at the "stop" job."""
    queue_key, lag_key = f"{run}:receipts", f"{run}:lag"
    with redis.Redis.from_url(
        REDIS_URL, decode_responses=True, client_name=f"{run}-worker"
    ) as queue:
        while True:
            item = queue.brpop([queue_key], timeout=5)
            if item is None:
                log.warning("no job for 5 s and no stop job: giving up")
                return
            job = json.loads(item[1])
            if job["task"] == "stop":  # a "poison pill": one per consumer, queued behind the work
                return
            send_receipt(job["order_id"])
            queue.rpush(lag_key, time.time() - job["enqueued_at"])


def wait_until_blocked(queue: redis.Redis, client_name: str) -> None:
    """Wait until the worker's connection shows up in CLIENT LIST, parked in BRPOP."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(c["name"] == client_name and c["cmd"] == "brpop" for c in queue.client_list()):
            return
        time.sleep(0.02)
    raise TimeoutError(f"{client_name} never blocked in BRPOP")


def main() -> None:
    run = f"s7_1_latency_{os.getpid()}"
    with redis.Redis.from_url(REDIS_URL, decode_responses=True) as queue:
        keys = [f"{run}:receipts", f"{run}:lag"]
        queue.delete(*keys)
        consumer = subprocess.Popen([sys.executable, __file__, "worker", run])
        try:
            print("1. the receipt is sent inside the request")
            print(f"   {HANDLER_THREADS} handler threads, {CHECKOUTS} checkouts at once, "
                  f"{RECEIPT_SECONDS * 1000:.0f} ms per receipt")  # fmt: skip
            server = serve_and_measure(run, offload=False, queue=queue)
            print(f"   receipts already sent when the responses arrived: {server.sent_inline}")

            wait_until_blocked(queue, f"{run}-worker")
            print("2. the request LPUSHes a job; a worker process waits in BRPOP")
            serve_and_measure(run, offload=True, queue=queue)
            queue.lpush(keys[0], json.dumps({"task": "stop"}))
            consumer.wait(timeout=20)
            lags = [float(lag) * 1000 for lag in queue.lrange(keys[1], 0, -1)]
            print(f"   worker exit code {consumer.returncode}; receipts it sent: {len(lags)}")
            print(f"   checkout-to-receipt delay: first {lags[0]:6.1f} ms, last {lags[-1]:6.1f} ms")
        finally:
            if consumer.poll() is None:
                consumer.kill()
                consumer.wait()
            queue.delete(*keys)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2])
    else:
        main()
