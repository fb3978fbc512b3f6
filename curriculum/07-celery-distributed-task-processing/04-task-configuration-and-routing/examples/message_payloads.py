"""Compression and serializers, measured in the bytes Redis stores, and checked by a real worker.

Part 1 publishes one 200-line invoice with each compression and serializer and reads the stored
message back out of Redis. Part 2 starts a worker that accepts json and msgpack only: it decodes
the compressed messages, shows which Python types survive each serializer, and refuses pickle.
"""

import base64
import json
import logging
import multiprocessing
import os
import pickle
import random
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult
from celery.signals import worker_ready
from kombu.compression import compress
from kombu.exceptions import EncodeError

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_4_payloads_{os.getpid()}"
PREFIX = f"{NS}:"
QUEUE = "invoices"
log = logging.getLogger("billing.payloads")

app = Celery("billing", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"global_keyprefix": PREFIX},
    result_backend_transport_options={"global_keyprefix": PREFIX},
    task_serializer="json",
    accept_content=["json", "msgpack"],  # what this worker agrees to decode; pickle is not in it
    worker_enable_remote_control=False,
    worker_log_format="%(levelname)s/%(processName)s: %(message)s",
)


@app.task(name="billing.invoices.summarize")
def summarize_invoice(invoice: dict[str, Any]) -> str:
    cents = sum(line["quantity"] * line["unit_price_cents"] for line in invoice["lines"])
    return f"{invoice['number']}: {len(invoice['lines'])} lines, total {cents / 100:.2f}"


@app.task(name="billing.invoices.describe")
def describe_arguments(fields: dict[str, Any]) -> dict[str, str]:
    """What the worker received: the Python type of every field."""
    return {name: type(value).__name__ for name, value in fields.items()}


def build_invoice(lines: int) -> dict[str, Any]:
    rng = random.Random(7)
    products = ["Hosting plan", "Support hours", "SSL certificate", "Backup storage"]
    return {
        "number": "INV-2024-0042",
        "tenant": "acme",
        "lines": [
            {
                "sku": f"SKU-{rng.randint(1000, 9999)}",
                "description": rng.choice(products),
                "quantity": rng.randint(1, 20),
                "unit_price_cents": rng.randint(100, 50_000),
                "tax_code": rng.choice(["VAT20", "VAT5", "EXEMPT"]),
            }
            for _ in range(lines)
        ],
    }


def newest_stored_message(client: redis.Redis, queue: str = QUEUE) -> dict[str, Any]:
    """The envelope kombu's Redis transport stored for the message just published."""
    raw = client.lindex(f"{PREFIX}{queue}", 0)
    if raw is None:
        raise RuntimeError("nothing was published")
    envelope: dict[str, Any] = json.loads(raw)
    return envelope


def measure_sizes(client: redis.Redis) -> list[AsyncResult[Any]]:
    invoice = build_invoice(200)
    sent: list[AsyncResult[Any]] = []
    print("1a. One 200-line invoice; compression applies to the body only")
    print(f"    {'compression':<12}{'header':<22}{'body bytes':>11}{'base64 in Redis':>17}")
    for compression in (None, "gzip", "zlib", "bzip2", "lzma"):
        options: dict[str, Any] = {} if compression is None else {"compression": compression}
        sent.append(summarize_invoice.apply_async((invoice,), **options))
        envelope = newest_stored_message(client)
        body = base64.b64decode(envelope["body"])
        header = envelope["headers"].get("compression") or "-"
        stored = len(envelope["body"])
        print(f"    {compression or 'none':<12}{header:<22}{len(body):>11,}{stored:>17,}")
    argsrepr = envelope["headers"]["argsrepr"]
    print(f"    headers carry an uncompressed argsrepr of {len(argsrepr):,} characters")
    body = json.dumps(invoice).encode()
    for name in ("zlib", "bzip2", "lzma"):
        started = time.perf_counter()
        for _ in range(20):
            compress(body, name)
        per_call = (time.perf_counter() - started) / 20 * 1e3
        print(f"    {name} costs {per_call:.2f} ms per 200-line invoice on this machine")

    print("\n1b. The same invoice with each serializer (no compression)")
    for serializer in ("json", "msgpack", "pickle"):
        # The worker below refuses pickle, so that one is parked in a queue nobody consumes.
        queue = "parking" if serializer == "pickle" else QUEUE
        result = summarize_invoice.apply_async((invoice,), serializer=serializer, queue=queue)
        if queue == QUEUE:
            sent.append(result)
        envelope = newest_stored_message(client, queue)
        size = len(base64.b64decode(envelope["body"]))
        print(f"    {serializer:<8} {envelope['content-type']:<32} {size:>7,} bytes")

    print("\n1c. A receipt-sized task")
    receipt = {"number": "R-1001", "tenant": "acme", "lines": []}
    for compression in (None, "zlib"):
        small: dict[str, Any] = {} if compression is None else {"compression": compression}
        sent.append(summarize_invoice.apply_async((receipt,), **small))
        size = len(base64.b64decode(newest_stored_message(client)["body"]))
        print(f"    {compression or 'none':<5} body {size} bytes")
    return sent


def show_type_round_trips() -> None:
    print("\n2b. Which Python types survive the trip to the worker")
    rich = {
        "amount": Decimal("1249.50"),
        "due": date(2024, 7, 31),
        "invoice_id": uuid.UUID(int=42),
        "lines": ("SKU-1", "SKU-2"),
        "pdf": b"%PDF-1.7",
    }
    result = describe_arguments.apply_async((rich,), serializer="json")
    received = ", ".join(f"{name}: {kind}" for name, kind in result.get(timeout=20).items())
    print(f"    json     -> {received}")
    try:
        describe_arguments.apply_async((rich,), serializer="msgpack")
    except EncodeError as exc:
        print(f"    msgpack  -> refused by the client: EncodeError: {exc}")
    plain = {"amount": "1249.50", "lines": ("SKU-1", "SKU-2"), "pdf": b"%PDF-1.7"}
    result = describe_arguments.apply_async((plain,), serializer="msgpack")
    received = ", ".join(f"{name}: {kind}" for name, kind in result.get(timeout=20).items())
    print(f"    msgpack  -> {received} (amount sent as a str)")


def show_pickle_refusal(client: redis.Redis, log_path: Path) -> None:
    print("\n2c. A pickle message sent to a worker that accepts json and msgpack only")
    result = describe_arguments.apply_async(({"amount": Decimal("1")},), serializer="pickle")
    deadline = time.monotonic() + 20
    lines: list[str] = []
    while not any("discarded" in line for line in lines) and time.monotonic() < deadline:
        time.sleep(0.1)
        lines = log_path.read_text().splitlines()
    refused = next(n for n, line in enumerate(lines) if "Refusing" in line)
    print("    worker log:")
    for line in lines[refused : refused + 2]:
        print("      " + "\n        ".join(textwrap.wrap(line, 70, break_on_hyphens=False)))
    waiting = client.llen(f"{PREFIX}{QUEUE}")
    print(f"    left in the queue: {waiting}; the caller sees {result.state}")

    class Exploit:
        def __reduce__(self) -> tuple[Any, tuple[str]]:
            return (print, ("    (this line was printed by pickle.loads itself)",))

    print("    why: unpickling calls whatever the payload names, before any task code runs")
    pickle.loads(pickle.dumps(Exploit()))


# --- worker harness: what `celery -A message_payloads worker -c 1` starts ----------------------


def keep_loop_awake(sender: Any, **_: Any) -> None:
    """Workaround: in this harness an idle worker reacted to SIGTERM seconds late (the cause
    was not established); with a no-op timer every 0.25 s it stopped promptly in every run."""
    sender.timer.call_repeatedly(0.25, lambda: None)


def run_worker(log_path: Path) -> None:
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    worker_ready.connect(keep_loop_awake, weak=False)
    worker = app.Worker(
        hostname="payloads@s7-4",
        concurrency=1,
        pool="prefork",
        loglevel="INFO",
        quiet=True,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    worker.start()
    sys.exit(worker.exitcode)


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    child = multiprocessing.get_context("fork").Process(
        target=run_worker, args=(log_path,), name="MainProcess"
    )
    child.start()
    try:
        yield
    finally:
        child.terminate()
        child.join(20)
        if child.is_alive():
            log.error("worker ignored SIGTERM; killing it")
            child.kill()
            child.join()


def clean_up() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{NS}:*"))
    if keys:
        client.delete(*keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = redis.Redis.from_url(REDIS_URL)
    sent = measure_sizes(client)  # published before the worker starts, so they wait in Redis
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        with running_worker(log_path):
            print("\n2a. The worker decodes every one of them (accept_content: json, msgpack)")
            summaries = [result.get(timeout=20) for result in sent]
            for summary in sorted(set(summaries)):
                print(f"    {summaries.count(summary)} x {summary}")
            show_type_round_trips()
            show_pickle_refusal(client, log_path)


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
