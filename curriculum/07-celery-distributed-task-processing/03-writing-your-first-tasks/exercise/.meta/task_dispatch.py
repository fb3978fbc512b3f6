"""Turn outbox events into Celery task sends.

The order service writes domain events to an outbox table in the same transaction as the
change they describe. A relay reads committed events and sends one task per event:

    plan = plan_send(event, now)
    app.send_task(plan["name"], args=plan["args"], kwargs=plan["kwargs"], **plan["options"])

This module holds the team's rules for those sends. It takes and returns plain JSON values,
so it is tested without a broker.
"""

import math
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

TASK_NAMES = {
    "invoice.created": "billing.tasks.send_invoice",
    "invoice.overdue": "billing.tasks.send_payment_reminder",
    "order.shipped": "orders.tasks.notify_shipment",
}
QUEUES = {
    "invoice.created": "billing",
    "invoice.overdue": "billing",
    "order.shipped": "notifications",
}
# How long after its planned start a task is still worth running.
USEFUL_FOR_SECONDS = {
    "invoice.created": 86_400,
    "invoice.overdue": 21_600,
    "order.shipped": 7_200,
}
# The Redis broker redelivers a message not acknowledged within its visibility timeout
# (one hour by default), and a task waiting for its countdown is not acknowledged.
MAX_COUNTDOWN_SECONDS = 3_600


def parse_instant(value: Any, field: str) -> datetime:
    """An ISO 8601 timestamp with a UTC offset; naive or malformed values are refused."""
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an ISO 8601 string, got {type(value).__name__}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{field} is not an ISO 8601 timestamp: {value!r}") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{field} is naive ({value!r}): give it a UTC offset")
    return instant


def checked_amount(value: Any) -> str:
    """Money travels as a decimal string with at most two places, never as a float."""
    if not isinstance(value, str):
        raise ValueError(f"amount must be a decimal string, got {type(value).__name__}")
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"amount is not a decimal number: {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"amount must be a non-negative number of cents: {value!r}")
    return value


def plan_send(event: dict[str, Any], now: str) -> dict[str, Any]:
    """The send for one outbox event: task name, args, kwargs and apply_async options."""
    kind = event.get("type")
    if kind not in TASK_NAMES:
        raise ValueError(f"unknown event type {kind!r}")
    entity_id = event.get("entity_id")
    if not isinstance(entity_id, int) or isinstance(entity_id, bool) or entity_id <= 0:
        raise ValueError(f"entity_id must be a positive integer id, got {entity_id!r}")
    tenant, event_id = event.get("tenant"), event.get("event_id")
    if not isinstance(tenant, str) or not tenant:
        raise ValueError("tenant must be a non-empty string")
    if not isinstance(event_id, str) or not event_id:
        raise ValueError("event_id must be a non-empty string")

    kwargs: dict[str, Any] = {"tenant": tenant}
    if event.get("amount") is not None:
        kwargs["amount"] = checked_amount(event["amount"])

    current = parse_instant(now, "now")
    options: dict[str, Any] = {"task_id": f"{tenant}:{event_id}", "queue": QUEUES[kind]}
    delay = 0
    if event.get("send_at") is not None:
        seconds = (parse_instant(event["send_at"], "send_at") - current).total_seconds()
        if seconds > MAX_COUNTDOWN_SECONDS:
            raise ValueError(
                f"send_at is {seconds:.0f} s away, beyond {MAX_COUNTDOWN_SECONDS} s: "
                "store it and let a periodic task send it"
            )
        if seconds > 0:
            delay = math.ceil(seconds)
            options["countdown"] = delay
    options["expires"] = delay + USEFUL_FOR_SECONDS[kind]
    return {"name": TASK_NAMES[kind], "args": [entity_id], "kwargs": kwargs, "options": options}


def plan_batch(events: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """Plan a batch read from the outbox, in order; repeats are dropped, bad events reported."""
    sends: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    planned_ids: set[str] = set()
    duplicates = 0
    for event in events:
        try:
            plan = plan_send(event, now)
        except ValueError as error:
            rejected.append({"event_id": event.get("event_id"), "reason": str(error)})
            continue
        if plan["options"]["task_id"] in planned_ids:
            duplicates += 1
            continue
        planned_ids.add(plan["options"]["task_id"])
        sends.append(plan)
    return {"sends": sends, "rejected": rejected, "duplicates": duplicates}
