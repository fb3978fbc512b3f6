"""Build a nightly billing chord and count the task messages any canvas will send."""

from typing import Any

from celery import Celery

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
    # TODO: deduplicate and sort the tenants; refuse an empty list with ValueError.
    # TODO: one chain per tenant, then the chord with an error callback on its body.
    raise NotImplementedError


def count_messages(canvas: dict[str, Any]) -> int:
    """How many task messages the canvas sends when everything succeeds.

    A plain signature is 1; a chain or a group is the sum of its parts; a chord is its
    header plus its body; celery.map and celery.starmap are 1 whatever the length of
    their list; celery.chunks is one message per chunk. Error callbacks are not counted.
    """
    # TODO: dispatch on canvas["task"] and recurse into kwargs["tasks"], kwargs["header"],
    # kwargs["body"]; chunks are described by kwargs["it"] and kwargs["n"].
    raise NotImplementedError
