"""Behavioural tests for canvas_plan: the billing chord's shape and the message counter."""

import json
from typing import Any

import pytest
from canvas_plan import build_billing_run, count_messages
from celery import Celery, chain, chord, group

# The tests build their own canvases with task names only; nothing is sent anywhere.
tests_app = Celery("reports")


@tests_app.task(name="reports.render")
def render(tenant_id: int) -> str:
    return f"report-{tenant_id}"


@tests_app.task(name="reports.publish")
def publish(reports: list[str]) -> int:
    return len(reports)


def as_json(canvas: Any) -> dict[str, Any]:
    """What a canvas looks like after a trip through JSON, as in a message or an API."""
    result: dict[str, Any] = json.loads(json.dumps(canvas))
    return result


def test_the_billing_run_is_a_chord_with_one_chain_per_tenant_in_ascending_order() -> None:
    run = as_json(build_billing_run("2025-03", [30, 10, 20]))
    assert run["task"] == "celery.chord", f"expected a chord, got task {run['task']!r}"
    header = run["kwargs"]["header"]
    assert len(header) == 3, f"one header entry per tenant, got {len(header)}"
    for entry, tenant in zip(header, [10, 20, 30], strict=True):
        steps = entry["kwargs"]["tasks"]
        names = [step["task"] for step in steps]
        assert names == ["billing.fetch_usage", "billing.price_usage"], (
            f"each tenant is fetch_usage then price_usage, got {names}"
        )
        assert steps[0]["args"] == [tenant], f"tenants go in ascending order, got {steps[0]}"
        assert steps[1]["args"] == [], "price_usage must receive fetch_usage's result, not args"


def test_duplicate_tenants_are_billed_once() -> None:
    run = as_json(build_billing_run("2025-03", [7, 7, 3, 7]))
    firsts = [entry["kwargs"]["tasks"][0]["args"] for entry in run["kwargs"]["header"]]
    assert firsts == [[3], [7]], f"a tenant listed twice must be billed once, got {firsts}"


def test_the_body_merges_with_the_run_id_after_the_header_results() -> None:
    body = as_json(build_billing_run("2025-03", [1]))["kwargs"]["body"]
    assert body["task"] == "billing.merge_invoices", f"body should merge, got {body['task']!r}"
    assert body["args"] == ["2025-03"], (
        "the body's own argument is the run id; the header results are prepended at run time"
    )
    assert not body.get("immutable"), "an immutable body would never receive the invoices"


def test_the_body_alerts_billing_with_an_immutable_errback() -> None:
    body = as_json(build_billing_run("2025-03", [1, 2]))["kwargs"]["body"]
    errbacks = body["options"].get("link_error", [])
    assert len(errbacks) == 1, f"expected one error callback on the body, got {errbacks}"
    assert errbacks[0]["task"] == "billing.alert_billing"
    assert errbacks[0]["args"] == ["2025-03"] and errbacks[0]["immutable"], (
        "use alert_billing.si(run_id): a mutable errback would be given the failure as well"
    )


def test_an_empty_tenant_list_is_refused() -> None:
    with pytest.raises(ValueError):
        build_billing_run("2025-03", [])


def test_a_plain_signature_and_a_chain_count_one_message_per_task() -> None:
    assert count_messages(as_json(render.s(1))) == 1
    workflow = chain(render.s(1), publish.s(), publish.si([]))
    assert count_messages(as_json(workflow)) == 3


def test_a_group_and_a_chord_count_header_plus_body() -> None:
    assert count_messages(as_json(group(render.s(t) for t in range(5)))) == 5
    reports = chord([render.s(1), render.s(2) | publish.s()], publish.s())
    assert count_messages(as_json(reports)) == 4, "2 + 1 in the header, 1 for the body"


def test_a_chord_whose_header_is_a_group_object_counts_the_same() -> None:
    reports = chord(group(render.s(t) for t in range(3)), publish.s())
    canvas = as_json(reports)
    canvas["kwargs"]["header"] = as_json(group(render.s(t) for t in range(3)))
    assert count_messages(canvas) == 4, "a header may arrive as a group dict, not a list"


def test_map_and_starmap_are_one_message_whatever_their_length() -> None:
    assert count_messages(as_json(render.map(list(range(1000))))) == 1
    assert count_messages(as_json(render.starmap([(t,) for t in range(50)]))) == 1


def test_chunks_send_one_message_per_chunk_rounding_up() -> None:
    items = [(t,) for t in range(101)]
    assert count_messages(as_json(render.chunks(items, 25))) == 5, "101 items / 25 is 5 chunks"
    assert count_messages(as_json(render.chunks(items[:100], 25))) == 4


def test_the_billing_run_counts_two_messages_per_tenant_plus_the_body() -> None:
    assert count_messages(as_json(build_billing_run("2025-03", [1, 2, 3]))) == 7, (
        "3 tenants x (fetch + price) + merge; the errback only runs on failure"
    )
