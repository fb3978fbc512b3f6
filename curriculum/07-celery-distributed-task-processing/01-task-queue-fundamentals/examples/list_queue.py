"""A task queue by hand: one Redis list, a producer process and two consumer processes.

The producer LPUSHes JSON jobs onto the list; each consumer loops on BRPOP, which blocks until a
job arrives and hands every job to exactly one waiting client. The three roles are separate OS
processes that share nothing but the Redis address and a key name:

    python list_queue.py                         # the demo: starts the others, checks the result
    python list_queue.py producer RUN            # queues ten receipt jobs and one broken job
    python list_queue.py consumer RUN NAME       # works until SIGTERM
"""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

import redis

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
CONSUMERS = ["consumer-a", "consumer-b"]
ORDER_IDS = range(1001, 1011)

log = logging.getLogger("receipts")


def connect(name: str) -> redis.Redis:
    # client_name makes the connection visible by name in CLIENT LIST
    return redis.Redis.from_url(REDIS_URL, decode_responses=True, client_name=name)


def producer(run: str) -> None:
    with connect(f"{run}-producer") as broker:
        jobs: list[dict[str, Any]] = [
            {
                "id": f"receipt-{order_id}",
                "task": "send_receipt",
                "kwargs": {"order_id": order_id, "email": f"buyer{order_id}@example.com"},
            }
            for order_id in ORDER_IDS
        ]
        jobs.append({"id": "receipt-broken", "task": "send_receipt", "kwargs": {}})
        for job in jobs:
            broker.lpush(f"{run}:jobs", json.dumps(job))  # the whole "send" is one LPUSH
        print(f"   producer: queued {len(jobs)} jobs; the first message is")
        print(f"   {json.dumps(jobs[0])}")


def send_receipt(order_id: int, email: str) -> None:
    time.sleep(0.1)  # render and send: simulated


# The message names its task; the consumer looks the function up, as Celery's registry does.
TASKS: dict[str, Callable[..., None]] = {"send_receipt": send_receipt}


def consumer(run: str, name: str) -> None:
    stopping = False

    def request_stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # finish the current job, then leave the loop

    signal.signal(signal.SIGTERM, request_stop)
    with connect(f"{run}-{name}") as broker:
        while not stopping:
            # A timeout, so that the loop notices `stopping` at least every half second.
            item = broker.brpop([f"{run}:jobs"], timeout=0.5)
            if item is None:
                continue
            _key, raw = item
            job = json.loads(raw)
            try:
                TASKS[job["task"]](**job["kwargs"])
            except Exception as error:
                # One bad job must not kill the consumer: park it and carry on.
                log.warning("%s: job %s failed: %r", name, job["id"], error)
                broker.rpush(f"{run}:failed", raw)
                continue
            broker.rpush(f"{run}:done", json.dumps({"consumer": name, "id": job["id"]}))


def wait_for(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def parked(broker: redis.Redis, run: str) -> list[str]:
    """Names of this run's connections whose current command is a blocking BRPOP."""
    clients = broker.client_list()
    mine = [c["name"] for c in clients if c["name"].startswith(f"{run}-") and c["cmd"] == "brpop"]
    return sorted(name.removeprefix(f"{run}-") for name in mine)


def main() -> None:
    run = f"s7_1_list_{os.getpid()}"
    keys = [f"{run}:jobs", f"{run}:done", f"{run}:failed"]
    consumers: list[subprocess.Popen[bytes]] = []
    with connect(f"{run}-demo") as broker:
        broker.delete(*keys)
        try:
            print("1. the producer runs while no consumer exists")
            subprocess.run([sys.executable, __file__, "producer", run], check=True, timeout=30)
            queued = broker.lrange(keys[0], 0, -1)
            ids = [json.loads(raw)["id"] for raw in queued]
            print(f"   list length {len(ids)}; left end {ids[0]!r}, right end {ids[-1]!r}")
            print("   LPUSH adds on the left and BRPOP takes from the right: first in, first out")

            print("2. two consumers start and drain the list")
            consumers = [
                subprocess.Popen([sys.executable, __file__, "consumer", run, name])
                for name in CONSUMERS
            ]
            wait_for(lambda: broker.llen(keys[1]) + broker.llen(keys[2]) == 11, "drained")
            done = [json.loads(raw) for raw in broker.lrange(keys[1], 0, -1)]
            handled = sorted(entry["id"] for entry in done)
            print(f"   done: {len(done)}, failed: {broker.llen(keys[2])}")
            expected = [f"receipt-{order_id}" for order_id in ORDER_IDS]
            print(f"   every receipt job done exactly once: {handled == expected}")
            split = {name: sum(e["consumer"] == name for e in done) for name in CONSUMERS}
            print(f"   jobs per consumer (varies run to run): {split}")
            wait_for(lambda: len(parked(broker, run)) == 2, "both consumers idle")
            print(f"   idle consumers blocked in BRPOP: {parked(broker, run)}")

            print("3. SIGTERM: each consumer leaves its loop at the next BRPOP timeout")
            for process in consumers:
                process.terminate()
            codes = [process.wait(timeout=10) for process in consumers]
            print(f"   exit codes: {codes}")
        finally:
            for process in consumers:
                if process.poll() is None:
                    process.kill()
                    process.wait()
            broker.delete(*keys)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    role = sys.argv[1] if len(sys.argv) > 1 else "demo"
    if role == "producer":
        producer(sys.argv[2])
    elif role == "consumer":
        consumer(sys.argv[2], sys.argv[3])
    else:
        main()
