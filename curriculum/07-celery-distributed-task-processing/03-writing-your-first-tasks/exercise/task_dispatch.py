"""Turn outbox events into Celery task sends.

The order service writes domain events to an outbox table in the same transaction as the
change they describe. A relay reads committed events and sends one task per event:

    plan = plan_send(event, now)
    app.send_task(plan["name"], args=plan["args"], kwargs=plan["kwargs"], **plan["options"])

This module holds the team's rules for those sends. It takes and returns plain JSON values,
so it is tested without a broker.
"""

from datetime import datetime
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
    """An ISO 8601 timestamp with a UTC offset, as an aware datetime.

    Raise ValueError, naming `field`, for a value that is not a string, does not parse, or
    has no UTC offset (a naive timestamp).
    """
    # TODO: datetime.fromisoformat(), then check .tzinfo / .utcoffset().
    raise NotImplementedError


def checked_amount(value: Any) -> str:
    """Return `value` unchanged if it is a decimal string of a non-negative amount with at
    most two decimal places ("129.90", "5", "0.5"); raise ValueError for anything else,
    floats included."""
    # TODO: isinstance(value, str), decimal.Decimal(value) (which raises
    #       decimal.InvalidOperation if it does not parse),
    #       then finite, not negative, and equal to itself quantized to Decimal("0.01").
    raise NotImplementedError


def plan_send(event: dict[str, Any], now: str) -> dict[str, Any]:
    """The send for one outbox event.

    Returns {"name": ..., "args": [entity_id], "kwargs": {...}, "options": {...}}:
    - name: TASK_NAMES[event["type"]]; an unknown type raises ValueError.
    - args: [event["entity_id"]], which must be a positive int (not a bool, not an object).
    - kwargs: {"tenant": ...} plus "amount" when the event has one (see checked_amount).
    - options: "task_id" is "<tenant>:<event_id>"; "queue" is QUEUES[type]; "countdown" is
      present only when send_at is in the future, in whole seconds rounded up, and more than
      MAX_COUNTDOWN_SECONDS away raises ValueError; "expires" is the countdown (or 0) plus
      USEFUL_FOR_SECONDS[type].
    tenant and event_id must be non-empty strings; now and send_at go through parse_instant.
    """
    # TODO: validate, then build the four parts; math.ceil() rounds the countdown up.
    raise NotImplementedError


def plan_batch(events: list[dict[str, Any]], now: str) -> dict[str, Any]:
    """Plan a batch read from the outbox, keeping its order.

    Returns {"sends": [...], "rejected": [...], "duplicates": n}. An event whose plan has a
    task_id already planned in this batch is a repeat: count it and drop it. An event that
    plan_send refuses goes to "rejected" as {"event_id": ..., "reason": str(error)}, and the
    rest of the batch is still planned.
    """
    # TODO
    raise NotImplementedError
