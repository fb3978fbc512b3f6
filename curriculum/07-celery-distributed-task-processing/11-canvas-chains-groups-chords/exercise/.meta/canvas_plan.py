"""Build a nightly billing chord and count the task messages any canvas will send."""

import json
import math
from typing import Any

from celery import Celery, chord

# Building signatures needs an app and its task names, never a broker connection.
app = Celery("billing")


@app.task(name="billing.fetch_usage")
def fetch_usage(tenant_id: int) -> dict[str, Any]:
    return {"tenant_id": tenant_id, "api_calls": 0}


@app.task(name="billing.price_usage")
def price_usage(usage: dict[str, Any]) -> dict[str, Any]:
    return {**usage, "cents": usage["api_calls"]}


@app.task(name="billing.merge_invoices")
def merge_invoices(invoices: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "invoices": len(invoices)}


@app.task(name="billing.alert_billing")
def alert_billing(run_id: str) -> None:
    """The errback: immutable, so it receives only the run id."""


def build_billing_run(run_id: str, tenant_ids: list[int]) -> dict[str, Any]:
    """Return the billing run as a chord, as plain JSON data (dicts and lists).

    The header has one chain per distinct tenant, in ascending tenant order:
    fetch_usage(tenant_id) then price_usage(usage). The body is merge_invoices(<header
    results>, run_id), with alert_billing(run_id) as its immutable error callback.
    Raises ValueError when there is no tenant: a chord with an empty header would run its
    body at once with [] and bill nobody.
    """
    tenants = sorted(set(tenant_ids))
    if not tenants:
        raise ValueError(f"billing run {run_id} has no tenants")
    header = [fetch_usage.s(tenant) | price_usage.s() for tenant in tenants]
    body = merge_invoices.s(run_id).on_error(alert_billing.si(run_id))
    # A signature is a dict subclass holding more signatures; a JSON round trip makes it plain
    # data, exactly what a message body or an API response carries.
    plain: dict[str, Any] = json.loads(json.dumps(chord(header, body)))
    return plain


def count_messages(canvas: dict[str, Any]) -> int:
    """How many task messages the canvas sends when everything succeeds.

    A plain signature is 1; a chain or a group is the sum of its parts; a chord is its
    header plus its body; celery.map and celery.starmap are 1 whatever the length of
    their list; celery.chunks is one message per chunk. Error callbacks are not counted.
    """
    name = canvas["task"]
    kwargs = canvas.get("kwargs") or {}
    if name in ("celery.chain", "celery.group"):
        return sum(count_messages(part) for part in kwargs["tasks"])
    if name == "celery.chord":
        header = kwargs["header"]
        parts = header["kwargs"]["tasks"] if isinstance(header, dict) else header
        return sum(count_messages(part) for part in parts) + count_messages(kwargs["body"])
    if name in ("celery.map", "celery.starmap"):
        return 1
    if name == "celery.chunks":
        size = int(kwargs["n"])
        if size < 1:
            raise ValueError(f"chunk size must be at least 1, got {size}")
        return math.ceil(len(kwargs["it"]) / size)
    return 1
