"""map, starmap and chunks: how many messages each one sends, and where the work runs.

Run it as `python map_starmap_chunks.py`. It starts one worker (four threads) with INFO logging
into a temporary file, sends each primitive, and counts the "received" lines per task name in
the worker's log, which is exactly the number of messages the worker took off the queue.
"""

import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from celery import Celery, group

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.setdefault("S7_11_MAPS", f"s7_11_maps_{os.getpid()}")

app = Celery("map_starmap_chunks", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
log = logging.getLogger("map_starmap_chunks")
RECEIVED = re.compile(r"Task ([\w.]+)\[[0-9a-f-]+\] received")


@app.task
def normalise_sku(sku: str) -> str:
    return sku.strip().upper()


@app.task
def line_total_cents(quantity: int, unit_cents: int) -> int:
    return quantity * unit_cents


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "map_starmap_chunks", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        *("--pool", "threads", "--concurrency", "4", "--loglevel", "INFO"),
        *("--logfile", str(log_path)),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def messages_since(log_path: Path, seen: int) -> tuple[Counter[str], int]:
    """Count 'received' lines per task name after the first `seen` of them."""
    names = RECEIVED.findall(log_path.read_text())
    return Counter(names[seen:]), len(names)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    skus = [" mug-01", "tea-07 ", "Pot-3"]
    lines = [(quantity, 250 + 10 * quantity) for quantity in range(1, 101)]  # 100 order lines
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as folder:
            log_path = Path(folder) / "worker.log"
            with running_worker(log_path):
                print("1. map: the whole list in one message to the built-in celery.map task")
                signature = normalise_sku.map(skus)
                print(f"   signature type: {type(signature).__name__}, task {signature.task!r}")
                print(f"   result: {signature.apply_async().get(timeout=20)}")
                counts, seen = messages_since(log_path, 0)
                print(f"   messages received: {dict(counts)}")

                print("2. starmap: each item is unpacked as positional arguments")
                totals = line_total_cents.starmap(lines[:3]).apply_async().get(timeout=10)
                print(f"   first three line totals: {totals}")
                counts, seen = messages_since(log_path, seen)
                print(f"   messages received: {dict(counts)}")

                print("3. chunks: 100 lines in chunks of 25, one celery.starmap message each")
                started = time.perf_counter()
                per_chunk = line_total_cents.chunks(lines, 25).apply_async().get(timeout=10)
                chunk_seconds = time.perf_counter() - started
                print(f"   result shape: {len(per_chunk)} lists of {len(per_chunk[0])}")
                print(f"   grand total: {sum(sum(chunk) for chunk in per_chunk)} cents")
                counts, seen = messages_since(log_path, seen)
                print(f"   messages received: {dict(counts)}")

                print("4. The same 100 lines as a plain group: one message per line")
                started = time.perf_counter()
                per_line = group(line_total_cents.s(q, c) for q, c in lines).apply_async()
                totals = per_line.get(timeout=20)
                group_seconds = time.perf_counter() - started
                print(f"   grand total: {sum(totals)} cents from {len(totals)} results")
                counts, seen = messages_since(log_path, seen)
                print(f"   messages received: {dict(counts)}")
                chunk_ms, group_ms = chunk_seconds * 1000, group_seconds * 1000
                print(f"   time: chunks {chunk_ms:.0f} ms, group {group_ms:.0f} ms")
    except Exception:
        log.exception("the map demo failed")
        raise
    finally:
        keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
        if keys:
            client.delete(*keys)
        print(f"Stopped the worker; deleted this run's Redis keys: {len(keys) > 0}")


if __name__ == "__main__":
    main()
