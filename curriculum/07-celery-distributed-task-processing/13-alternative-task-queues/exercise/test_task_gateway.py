"""Behavioural tests for the Huey-to-Dramatiq cutover gateway."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import task_gateway
from task_gateway import bucket, choose_system, run_cutover


def expected_bucket(job: str, key: str) -> int:
    digest = hashlib.sha256(f"{job}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def receipt(order_id: int, replay: bool = False) -> dict[str, Any]:
    request: dict[str, Any] = {
        "job": "send_receipt",
        "key": f"receipt-{order_id}",
        "payload": {"order_id": order_id, "email": f"buyer{order_id}@example.com"},
    }
    if replay:
        request["replay"] = True
    return request


def test_bucket_is_the_documented_sha256_bucket() -> None:
    for key in ("receipt-1", "receipt-2", "tenant-acme", ""):
        assert bucket("send_receipt", key) == expected_bucket("send_receipt", key), (
            "bucket() must be the first 8 bytes of sha256('<job>:<key>'), big-endian, mod 100; "
            "every web process must compute the same bucket for the same order"
        )


def test_bucket_stays_between_0_and_99() -> None:
    buckets = {bucket("render_invoice", f"invoice-{n}") for n in range(300)}
    assert min(buckets) >= 0 and max(buckets) <= 99, "a bucket is a percentage slot, 0-99"
    assert len(buckets) > 80, "300 keys should land in most of the 100 buckets"


def test_rollout_0_keeps_every_order_on_huey() -> None:
    systems = {
        choose_system("send_receipt", f"receipt-{n}", {"send_receipt": 0}) for n in range(50)
    }
    assert systems == {"huey"}, "at 0% nothing may move to the new system yet"


def test_rollout_100_moves_every_order_to_dramatiq() -> None:
    systems = {
        choose_system("send_receipt", f"receipt-{n}", {"send_receipt": 100}) for n in range(50)
    }
    assert systems == {"dramatiq"}, "at 100% every key must go to the new system"


def test_partial_rollout_sends_exactly_the_low_buckets_to_dramatiq() -> None:
    for n in range(60):
        key = f"receipt-{n}"
        want = "dramatiq" if expected_bucket("send_receipt", key) < 30 else "huey"
        assert choose_system("send_receipt", key, {"send_receipt": 30}) == want, (
            f"with 30% rolled out, {key} (bucket {expected_bucket('send_receipt', key)}) "
            f"belongs on {want}: keys whose bucket is below the percentage move"
        )


def test_a_job_missing_from_the_rollout_stays_on_huey() -> None:
    assert choose_system("render_invoice", "invoice-7", {"send_receipt": 100}) == "huey", (
        "the rollout is per job: moving send_receipt must not move render_invoice"
    )


def test_bad_rollouts_and_unknown_jobs_raise_value_error() -> None:
    with pytest.raises(ValueError):
        choose_system("send_receipt", "receipt-1", {"send_receipt": 101})
    with pytest.raises(ValueError):
        choose_system("send_receipt", "receipt-1", {"send_receipt": -5})
    with pytest.raises(ValueError):
        choose_system("refund_payment", "refund-1", {})


def test_every_request_runs_once_on_the_system_it_was_routed_to() -> None:
    requests = [receipt(n) for n in range(1, 21)]
    report = run_cutover(requests, {"send_receipt": 40})
    on_dramatiq = sum(expected_bucket("send_receipt", f"receipt-{n}") < 40 for n in range(1, 21))
    assert report["routed"] == {"huey": 20 - on_dramatiq, "dramatiq": on_dramatiq}, (
        "routed counts each request once, under the system choose_system picked"
    )
    assert report["effects"] == sorted(
        f"receipt for order {n} to buyer{n}@example.com" for n in range(1, 21)
    ), "every receipt must be sent exactly once, whichever system ran it (effects sorted)"
    assert report["skipped"] == 0


def test_dramatiq_messages_actually_run_before_the_report() -> None:
    report = run_cutover([receipt(1), receipt(2)], {"send_receipt": 100})
    assert len(report["effects"]) == 2, (
        "with 100% on Dramatiq the messages wait on the broker: drain() must run a worker "
        "and wait for the queue before run_cutover builds its report"
    )


def test_a_replay_on_the_other_system_is_harmless() -> None:
    report = run_cutover([receipt(5, replay=True), receipt(6)], {"send_receipt": 50})
    assert report["effects"] == [
        "receipt for order 5 to buyer5@example.com",
        "receipt for order 6 to buyer6@example.com",
    ], "the idempotency key must stop the second delivery of order 5 from sending again"
    assert report["skipped"] == 1, "the duplicate delivery is counted in skipped"
    assert sum(report["routed"].values()) == 2, "a replay is not a second routed request"


def test_the_same_key_twice_on_one_system_sends_once() -> None:
    invoice = {"job": "render_invoice", "key": "invoice-9", "payload": {"order_id": 9}}
    report = run_cutover([invoice, invoice], {})
    assert report["effects"] == ["invoice pdf for order 9"], "one key, one effect"
    assert report["skipped"] == 1


def test_an_unknown_job_fails_before_anything_runs() -> None:
    with pytest.raises(ValueError):
        run_cutover([receipt(77), {"job": "refund", "key": "r-1", "payload": {}}], {})
    assert "receipt for order 77 to buyer77@example.com" not in task_gateway.EFFECTS, (
        "order 77 was sent although its batch was refused: choose a system for every request "
        "before enqueueing any of them"
    )
    report = run_cutover([], {})
    assert report == {"routed": {"huey": 0, "dramatiq": 0}, "effects": [], "skipped": 0}, (
        "a fresh call starts with empty state"
    )


def test_each_call_starts_from_a_clean_slate() -> None:
    first = run_cutover([receipt(3)], {"send_receipt": 0})
    second = run_cutover([receipt(3)], {"send_receipt": 0})
    assert first == second, (
        "run_cutover must clear EFFECTS, DONE and SKIPPED first; otherwise the second call "
        "would skip order 3 as a duplicate of the first call"
    )
