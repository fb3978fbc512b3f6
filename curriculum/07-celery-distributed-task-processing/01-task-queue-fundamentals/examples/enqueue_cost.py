"""What the queue itself costs per job: the enqueue a request pays, a consumer's reserve and ack.

No job does any work here, so every figure is pure broker overhead: the median of many calls
against the local Redis. The figures depend on the machine and its load, so the recorded output
is compared with them masked.
"""

import json
import logging
import os
import statistics
import time
from collections.abc import Callable

import redis
from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_1_cost_{os.getpid()}"
SAMPLES = 300
BATCH = 2000

log = logging.getLogger("enqueue_cost")

app = Celery("enqueue_cost", broker=REDIS_URL)
app.conf.update(
    task_default_queue="receipts",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    broker_connection_retry_on_startup=True,
)


@app.task(name="receipts.send_receipt")
def send_receipt(order_id: int, email: str) -> None:
    """Never runs in this example: only its messages are published."""


def message(order_id: int) -> str:
    job = {"id": f"receipt-{order_id}", "task": "send_receipt", "kwargs": {"order_id": order_id}}
    return json.dumps(job)


def median_ms(call: Callable[[int], object]) -> float:
    """Run call(0), call(1), ... SAMPLES times and return the median duration in ms."""
    durations = []
    for number in range(SAMPLES):
        started = time.perf_counter()
        call(number)
        durations.append(time.perf_counter() - started)
    return statistics.median(durations) * 1000


def measure(broker: redis.Redis) -> None:
    queue, processing = f"{RUN}:jobs", f"{RUN}:processing:consumer-a"

    print("1. producer side: what the request pays to enqueue one job")
    lpush = median_ms(lambda n: broker.lpush(queue, message(n)))
    print(f"   LPUSH, one round trip (median of {SAMPLES}): {lpush:.3f} ms")
    started = time.perf_counter()
    with broker.pipeline(transaction=False) as pipe:
        for order_id in range(BATCH):
            pipe.lpush(queue, message(order_id))
        pipe.execute()  # one round trip for the whole batch
    per_job = (time.perf_counter() - started) * 1000 / BATCH
    print(f"   LPUSH in one pipeline of {BATCH}, per job: {per_job:.3f} ms")
    send_receipt.delay(1, "warm-up@example.com")  # the first call imports and connects
    delay = median_ms(lambda n: send_receipt.delay(n, f"buyer{n}@example.com"))
    print(f"   Celery .delay(), warmed up (median of {SAMPLES}): {delay:.3f} ms")

    print("2. consumer side: what a worker pays per job before doing any work")
    brpop = median_ms(lambda n: broker.brpop([queue], timeout=1))
    print(f"   BRPOP of a waiting job (median of {SAMPLES}): {brpop:.3f} ms")

    def reserve_and_ack(_: int) -> None:
        raw = broker.blmove(queue, processing, 1, "RIGHT", "LEFT")
        if raw is None:
            raise RuntimeError(f"{queue} ran dry: the example queued too few jobs")
        broker.lrem(processing, 1, raw if isinstance(raw, str) else raw.decode())

    reliable = median_ms(reserve_and_ack)
    print(f"   BLMOVE + LREM, reserve and acknowledge (median of {SAMPLES}): {reliable:.3f} ms")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with redis.Redis.from_url(REDIS_URL, decode_responses=True) as broker:
        try:
            measure(broker)
        except redis.RedisError:
            log.exception("Redis at %s failed during the measurement", REDIS_URL)
            raise
        finally:
            stale = list(broker.scan_iter(match=f"{RUN}:*"))
            if stale:
                broker.delete(*stale)


if __name__ == "__main__":
    main()
