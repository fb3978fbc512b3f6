import json
from typing import Any

import pytest
from task_dispatch import plan_batch, plan_send

NOW = "2026-03-02T09:00:00+00:00"


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "evt-9001",
        "type": "invoice.created",
        "tenant": "acme",
        "entity_id": 4211,
        "amount": "129.90",
        "send_at": None,
    }
    base.update(changes)
    return base


def test_an_invoice_event_becomes_a_send_to_the_billing_task() -> None:
    assert plan_send(event(), NOW) == {
        "name": "billing.tasks.send_invoice",
        "args": [4211],
        "kwargs": {"tenant": "acme", "amount": "129.90"},
        "options": {"task_id": "acme:evt-9001", "queue": "billing", "expires": 86_400},
    }, "an event due now has no countdown, and expires after its type's useful window"


def test_the_task_id_is_the_same_every_time_the_event_is_relayed() -> None:
    first = plan_send(event(), NOW)["options"]["task_id"]
    again = plan_send(event(), "2026-03-02T09:05:00+00:00")["options"]["task_id"]
    other_tenant = plan_send(event(tenant="globex"), NOW)["options"]["task_id"]
    assert first == again == "acme:evt-9001", "a relayed event must keep its task id"
    assert other_tenant == "globex:evt-9001", "event ids are only unique within a tenant"


def test_a_future_send_at_becomes_a_countdown_rounded_up_to_whole_seconds() -> None:
    plan = plan_send(event(send_at="2026-03-02T09:01:30.200000+00:00"), NOW)
    assert plan["options"]["countdown"] == 91, "90.2 s away must wait 91 s, never start early"
    assert plan["options"]["expires"] == 91 + 86_400, "expires counts from the sending moment"


def test_a_past_or_missing_send_at_means_send_now() -> None:
    for send_at in (None, "2026-03-02T08:00:00+00:00", NOW):
        options = plan_send(event(send_at=send_at), NOW)["options"]
        assert "countdown" not in options, f"send_at={send_at!r} must not add a countdown"
        assert options["expires"] == 86_400


def test_offsets_are_compared_as_instants() -> None:
    plan = plan_send(event(send_at="2026-03-02T11:10:00+02:00"), NOW)
    assert plan["options"]["countdown"] == 600, "11:10 at +02:00 is 09:10 UTC: 600 s from now"


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        plan_send(event(send_at="2026-03-02T09:10:00"), NOW)
    with pytest.raises(ValueError, match="naive"):
        plan_send(event(), "2026-03-02T09:00:00")


def test_a_countdown_beyond_the_visibility_timeout_is_refused() -> None:
    at_limit = plan_send(event(send_at="2026-03-02T10:00:00+00:00"), NOW)
    assert at_limit["options"]["countdown"] == 3_600, "exactly one hour is still allowed"
    with pytest.raises(ValueError, match="periodic"):
        plan_send(event(send_at="2026-03-02T10:00:01+00:00"), NOW)


def test_money_travels_as_a_decimal_string() -> None:
    assert plan_send(event(amount="12.5"), NOW)["kwargs"]["amount"] == "12.5"
    assert "amount" not in plan_send(event(type="order.shipped", amount=None), NOW)["kwargs"]
    for bad in (129.9, "12.345", "-1.00", "NaN", "twelve"):
        with pytest.raises(ValueError):
            plan_send(event(amount=bad), NOW)


def test_the_task_gets_an_id_never_an_object() -> None:
    for bad in ({"id": 4211, "status": "paid"}, "4211", True, 0):
        with pytest.raises(ValueError, match="entity_id"):
            plan_send(event(entity_id=bad), NOW)


def test_unknown_event_types_and_missing_ids_are_refused() -> None:
    with pytest.raises(ValueError, match=r"invoice\.paid"):
        plan_send(event(type="invoice.paid"), NOW)
    with pytest.raises(ValueError, match="event_id"):
        plan_send(event(event_id=""), NOW)
    with pytest.raises(ValueError, match="tenant"):
        plan_send(event(tenant=None), NOW)


def test_each_type_has_its_own_task_queue_and_window() -> None:
    reminder = plan_send(event(type="invoice.overdue"), NOW)
    shipped = plan_send(event(type="order.shipped", amount=None), NOW)
    assert (reminder["name"], reminder["options"]["queue"], reminder["options"]["expires"]) == (
        "billing.tasks.send_payment_reminder",
        "billing",
        21_600,
    )
    assert (shipped["name"], shipped["options"]["queue"], shipped["options"]["expires"]) == (
        "orders.tasks.notify_shipment",
        "notifications",
        7_200,
    )


def test_a_batch_drops_repeated_events_and_keeps_order() -> None:
    events = [
        event(event_id="evt-1"),
        event(event_id="evt-2", type="order.shipped", amount=None),
        event(event_id="evt-1"),
        event(event_id="evt-1", tenant="globex"),
    ]
    batch = plan_batch(events, NOW)
    ids = [send["options"]["task_id"] for send in batch["sends"]]
    assert ids == ["acme:evt-1", "acme:evt-2", "globex:evt-1"], "first occurrence wins, in order"
    assert batch["duplicates"] == 1
    assert batch["rejected"] == []


def test_a_batch_reports_bad_events_and_plans_the_rest() -> None:
    events = [event(event_id="evt-1", amount=19.99), event(event_id="evt-2")]
    batch = plan_batch(events, NOW)
    assert [send["options"]["task_id"] for send in batch["sends"]] == ["acme:evt-2"]
    assert len(batch["rejected"]) == 1 and batch["rejected"][0]["event_id"] == "evt-1"
    assert "amount" in batch["rejected"][0]["reason"], "the reason must say what was wrong"
    assert batch["duplicates"] == 0


def test_every_plan_survives_a_json_round_trip() -> None:
    plan = plan_send(event(send_at="2026-03-02T09:00:45+00:00"), NOW)
    assert json.loads(json.dumps(plan)) == plan, "a plan must hold only JSON values"
