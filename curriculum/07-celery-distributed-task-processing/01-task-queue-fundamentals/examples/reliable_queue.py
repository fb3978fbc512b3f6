"""A consumer dies mid-job: lost with BRPOP, recovered with BLMOVE, and sometimes done twice.

Each consumer is a separate process (forked, so it starts in milliseconds) and is killed with
SIGKILL, which a process cannot catch: what survives is only what Redis holds. A receipt job
renders (0.3 s), emails the customer, records the receipt (0.3 s), and then acknowledges.
"""

import json
import logging
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from multiprocessing.context import ForkProcess

import redis

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
HEARTBEAT_MS = 500  # a consumer whose heartbeat key is gone counts as dead

log = logging.getLogger("reaper")


class Keys:
    def __init__(self, run: str) -> None:
        self.run = run
        self.jobs = f"{run}:jobs"
        self.events = f"{run}:events"  # what consumers report, for the demo to wait on
        self.emails = f"{run}:emails"  # the side effect the customer sees

    def processing(self, consumer: str) -> str:
        return f"{self.run}:processing:{consumer}"

    def heartbeat(self, consumer: str) -> str:
        return f"{self.run}:heartbeat:{consumer}"


def connect() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


def beat(keys: Keys, name: str) -> None:
    """Refresh the consumer's heartbeat key; it expires soon after the process dies."""
    with connect() as broker:
        while True:
            broker.set(keys.heartbeat(name), "alive", px=HEARTBEAT_MS)
            time.sleep(HEARTBEAT_MS / 5000)


def handle(broker: redis.Redis, keys: Keys, name: str, raw: str) -> None:
    job = json.loads(raw)
    broker.rpush(keys.events, f"{name} started {job['id']}")
    time.sleep(0.3)  # render the PDF
    broker.rpush(keys.emails, job["order_id"])  # the email has left: this cannot be undone
    broker.rpush(keys.events, f"{name} emailed {job['id']}")
    time.sleep(0.3)  # mark the order's receipt as sent in the database


def consume(keys: Keys, name: str, reliable: bool) -> None:
    """Work until the list has been empty for 0.3 s."""
    threading.Thread(target=beat, args=(keys, name), daemon=True).start()
    with connect() as broker:
        while True:
            if reliable:
                # Atomically move the job from the queue into this consumer's own list.
                raw = broker.blmove(keys.jobs, keys.processing(name), 0.3, "RIGHT", "LEFT")
                if raw is None:
                    return
                handle(broker, keys, name, raw)
                broker.lrem(keys.processing(name), 1, raw)  # the acknowledgement
            else:
                item = broker.brpop([keys.jobs], timeout=0.3)  # gone from Redis from here on
                if item is None:
                    return
                handle(broker, keys, name, item[1])


def start(keys: Keys, name: str, reliable: bool) -> ForkProcess:
    process = multiprocessing.get_context("fork").Process(
        target=consume, args=(keys, name, reliable), name=name
    )
    process.start()
    return process


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 20
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.01)


def crash(
    broker: redis.Redis, keys: Keys, name: str, reliable: bool, order_id: int, at: str
) -> None:
    """Queue one receipt job, start a consumer, and SIGKILL it once it reports `at`."""
    broker.lpush(keys.jobs, json.dumps({"id": f"receipt-{order_id}", "order_id": order_id}))
    process = start(keys, name, reliable)
    event = f"{name} {at} receipt-{order_id}"
    try:
        wait_for(lambda: event in broker.lrange(keys.events, 0, -1), event)
    finally:
        process.kill()  # SIGKILL: no handler, no finally block, no goodbye to Redis
        process.join()


def heartbeat_expired(broker: redis.Redis, keys: Keys, name: str) -> bool:
    return broker.exists(keys.heartbeat(name)) == 0


def requeue_from_dead(broker: redis.Redis, keys: Keys, consumers: list[str]) -> dict[str, int]:
    """The reaper: move a dead consumer's unacknowledged jobs back to the front of the queue."""
    moved: dict[str, int] = {}
    for name in consumers:
        wait_for(partial(heartbeat_expired, broker, keys, name), f"{name}'s heartbeat expiry")
        moved[name] = 0
        # RIGHT to RIGHT: the recovered job is the next one BRPOP/BLMOVE takes.
        while broker.lmove(keys.processing(name), keys.jobs, "RIGHT", "RIGHT") is not None:
            moved[name] += 1
        log.warning("%s stopped sending heartbeats; requeued %d job(s)", name, moved[name])
    return moved


def held(broker: redis.Redis, keys: Keys, name: str) -> list[str]:
    return [json.loads(raw)["id"] for raw in broker.lrange(keys.processing(name), 0, -1)]


def main() -> None:
    keys = Keys(f"s7_1_reliable_{os.getpid()}")
    with connect() as broker:
        try:
            print("1. plain BRPOP: consumer-a is killed while rendering receipt-3001")
            crash(broker, keys, "consumer-a", reliable=False, order_id=3001, at="started")
            print(f"   jobs in the list: {broker.llen(keys.jobs)}, emails sent: "
                  f"{broker.llen(keys.emails)}: nothing in Redis remembers the job")  # fmt: skip

            print("2. BLMOVE: consumer-b is killed while rendering receipt-3002")
            crash(broker, keys, "consumer-b", reliable=True, order_id=3002, at="started")
            print(f"   jobs in the list: {broker.llen(keys.jobs)}, "
                  f"processing:consumer-b holds {held(broker, keys, 'consumer-b')}")  # fmt: skip

            print("3. BLMOVE: consumer-c is killed after emailing receipt-3003, before its LREM")
            crash(broker, keys, "consumer-c", reliable=True, order_id=3003, at="emailed")
            print(f"   processing:consumer-c holds {held(broker, keys, 'consumer-c')}")

            print("4. the reaper waits for dead heartbeats, requeues; consumer-d drains the list")
            requeue_from_dead(broker, keys, ["consumer-b", "consumer-c"])
            survivor = start(keys, "consumer-d", True)
            survivor.join(timeout=20)
            emails = Counter(int(order) for order in broker.lrange(keys.emails, 0, -1))
            per_order = {order: emails[order] for order in (3001, 3002, 3003)}
            print(f"   consumer-d exit code {survivor.exitcode}; emails per order: {per_order}")
            leftover = sum(broker.llen(keys.processing(f"consumer-{c}")) for c in "abcd")
            print(f"   jobs left in processing lists: {leftover}")
        finally:
            stale = list(broker.scan_iter(match=f"{keys.run}:*"))
            if stale:
                broker.delete(*stale)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    main()
