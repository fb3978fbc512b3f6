"""The one job this section runs on RQ, Dramatiq, Huey and Celery: total an order's invoice.

The job is plain Python with no queue library in sight. Each queue example wraps it in that
library's decorator (or, for RQ, enqueues it as it is), so the only thing that changes
between them is the queue. The tax service it calls is simulated with a Redis counter: the
first call for an order times out, the second succeeds, and order 1099 (a region whose tax
configuration is missing) fails every time. Workers run in other processes, so the counter
must live in Redis, under the keyspace the example that started them chose.

Run on its own, this file calls the job directly, twice, to show the failure and the retry
that a queue will automate.
"""

from __future__ import annotations

import logging
import os
import sys
from decimal import Decimal

import redis

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
KEYSPACE_VARIABLE = "S7_13_KEYSPACE"  # set by each example before it starts its workers
TAX_RATE = Decimal("0.20")
ORDERS: dict[int, list[tuple[str, int, str]]] = {
    1042: [("Desk lamp", 2, "24.50"), ("Cable tidy", 3, "4.99")],
    1043: [("Monitor arm", 1, "89.00")],
    1099: [("Standing desk", 1, "349.00")],  # its tax region is not configured
}
ALWAYS_DOWN = {1099}

log = logging.getLogger("invoices")


class TaxServiceUnavailable(Exception):
    """A transient failure: the same call is expected to succeed a little later."""


def keyspace() -> str:
    return os.environ.get(KEYSPACE_VARIABLE, f"s7_13_invoices_{os.getpid()}")


def connect() -> redis.Redis:
    return redis.Redis.from_url(REDIS_URL, decode_responses=True)


def render_invoice(order_id: int) -> dict[str, str]:
    """Total one order with tax. Raises TaxServiceUnavailable on a transient failure."""
    store = connect()
    attempt = int(store.incr(f"{keyspace()}:tax_calls:{order_id}"))
    if attempt == 1 or order_id in ALWAYS_DOWN:
        log.warning("order %s: tax service timed out (attempt %s)", order_id, attempt)
        raise TaxServiceUnavailable(f"tax service timed out for order {order_id}")
    subtotal = sum(
        (quantity * Decimal(price) for _, quantity, price in ORDERS[order_id]), Decimal("0")
    )
    tax = (subtotal * TAX_RATE).quantize(Decimal("0.01"))
    return {
        "order_id": str(order_id),
        "subtotal": str(subtotal),
        "tax": str(tax),
        "total": str(subtotal + tax),
        "attempt": str(attempt),
    }


def touch_order(order_id: int) -> None:
    """The no-op-ish job of the throughput comparison: one Redis INCR per job."""
    connect().incr(f"{keyspace()}:touched")


def attempts(order_id: int) -> int:
    return int(connect().get(f"{keyspace()}:tax_calls:{order_id}") or 0)


def clean_up() -> None:
    store = connect()
    keys = list(store.scan_iter(f"{keyspace()}:*"))
    if keys:
        store.delete(*keys)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="  log: %(message)s", stream=sys.stdout)
    os.environ[KEYSPACE_VARIABLE] = f"s7_13_direct_{os.getpid()}"
    try:
        for call in (1, 2):
            try:
                invoice = render_invoice(1042)
            except TaxServiceUnavailable as exc:
                print(f"call {call}: {type(exc).__name__}: {exc}")
            else:
                print(f"call {call}: {invoice}")
    finally:
        clean_up()


if __name__ == "__main__":
    main()
