"""Behavioural tests for broker_inspector. The messages are rebuilt field for field from ones
captured with LRANGE after Celery 5.7 / kombu 5.7 published them to Redis; the bodies are the
captured bytes."""

import base64
import bz2
import json
import zlib

import pytest
from broker_inspector import decode_message, in_flight, queue_report


def stored(
    task: str,
    task_id: str,
    body: str,
    argsrepr: str,
    kwargsrepr: str,
    queue: str,
    *,
    eta: str | None = None,
    expires: str | None = None,
    priority: int = 0,
    compression: str | None = None,
    content_type: str = "application/json",
    content_encoding: str = "utf-8",
) -> str:
    """A message as kombu's Redis transport stores it: json.dumps of this envelope, with the
    keys in this order. The bodies below are the ones captured from Redis."""
    headers = {
        "lang": "py", "task": task, "id": task_id, "shadow": None, "eta": eta,
        "expires": expires, "group": None, "group_index": None, "retries": 0,
        "timelimit": [None, None], "root_id": task_id, "parent_id": None,
        "argsrepr": argsrepr, "kwargsrepr": kwargsrepr, "origin": "gen9699@vm",
        "ignore_result": False, "replaced_task_nesting": 0, "stamped_headers": None, "stamps": {},
    }  # fmt: skip
    if compression is not None:
        headers["compression"] = compression
    properties: dict[str, object] = {
        "correlation_id": task_id,
        "reply_to": "7c11d8fb-b1cc-3a3d-affc-5ecf2534ac6e",
        "delivery_mode": 2,
    }
    if expires is not None:
        properties["expiration"] = "3600000"
    properties |= {
        "delivery_info": {"exchange": "", "routing_key": queue},
        "priority": priority,
        "body_encoding": "base64",
        "delivery_tag": f"tag-{task_id[:8]}",
    }
    return json.dumps(
        {
            "body": body,
            "content-encoding": content_encoding,
            "content-type": content_type,
            "headers": headers,
            "properties": properties,
        }
    )


EMBED = (
    "IHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d"
)

# send_receipt.delay(5001, "ana@example.com")
RECEIPT = stored(
    "emails.send_receipt",
    "5d2c7a3e-0f1b-4c55-9a51-2f1f0c9d8e01",
    "W1s1MDAxLCAiYW5hQGV4YW1wbGUuY29tIl0sIHt9LC" + "B7ImNhbGxiYWNrcyI6IG51bGwsICJlcnJiYWNrcyI6IG"
    "51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ==",
    "(5001, 'ana@example.com')",
    "{}",
    "emails",
)
# send_receipt.apply_async((5002,), {"email": ...}, countdown=30, expires=3600)
SCHEDULED = stored(
    "emails.send_receipt",
    "0b9f6a44-8c2d-4d8e-b7a3-6f0e2c1d4b02",
    "W1s1MDAyXSwgeyJlbWFpbCI6ICJib0BleGFtcGxlLmNvbSJ9LCB7ImNhbGxiYWNrcyI6IG51bGwsICJlcnJiYWNr"
    "cyI6IG51bGwsICJjaGFpbiI6IG51bGwsICJjaG9yZCI6IG51bGx9XQ==",
    "(5002,)",
    "{'email': 'bo@example.com'}",
    "emails",
    eta="2026-11-27T18:36:53.614055+00:00",
    expires="2026-11-27T19:36:23.614055+00:00",
)
# send_receipt.apply_async((5003, "cy@example.com"), priority=6): stored in "emails\x06\x166"
URGENT = stored(
    "emails.send_receipt",
    "c8f0b2d6-9e1a-4b73-a6c5-3d2e1f0a9b05",
    "W1s1MDAzLCAiY3lAZXhhbXBsZS5jb20iXSwge30s" + EMBED,
    "(5003, 'cy@example.com')",
    "{}",
    "emails",
    priority=6,
)
# export_csv.apply_async(("acme",), {"rows": list(range(50))}, compression="gzip")
COMPRESSED = stored(
    "reports.export_csv",
    "a3c1e9d7-5b2f-4e6a-8d14-9c7b0f3e2a03",
    "eJxdz8kKwlAMheFXCXedhRkc6quULmotKFaFiriQvrv/BRfiMjkfGdq29MN1LJ3Ku8z316PspV2pmIqrhEqqrFU2"
    "KluVnUpDVGNyAxjCIIYxkKEMZjjHeZ2Dc5zjHOc4xznOcYELXNSFuMAFLnCBC1zgEpe4xGW9DJe4xCUucdl0S/1k"
    "6Kfp0A+X+s7tOU0qZZznv85w6s+33/I+H7/l0n0AYzM+7Q==",
    "('acme',)",
    f"{{'rows': {list(range(50))}}}",
    "exports",
    compression="application/x-gzip",
)
# export_csv.apply_async(("globex",), {"rows": [1]}, serializer="pickle")
PICKLED = stored(
    "reports.export_csv",
    "7e4d2b91-3a6c-4f08-b5e2-1d9c8a7f6b04",
    "gASVTAAAAAAAAACMBmdsb2JleJSFlH2UjARyb3dzlF2USwFhc32UKIwJY2FsbGJhY2tzlE6MCGVycmJhY2tzlE6M"
    "BWNoYWlulE6MBWNob3JklE51h5Qu",
    "('globex',)",
    "{'rows': [1]}",
    "exports",
    content_type="application/x-python-serialize",
    content_encoding="binary",
)


def recompressed_with_bz2(raw: str) -> str:
    """The COMPRESSED message as `compression="bzip2"` would have stored it."""
    envelope = json.loads(raw)
    plain = zlib.decompress(base64.b64decode(envelope["body"]))
    envelope["body"] = base64.b64encode(bz2.compress(plain)).decode()
    envelope["headers"]["compression"] = "application/x-bz2"
    return json.dumps(envelope)


def unacked_entry(raw: str, routing_key: str) -> str:
    """A value of the `unacked` hash: [envelope, exchange, routing key], as kombu writes it."""
    return json.dumps([json.loads(raw), "", routing_key])


def test_it_decodes_a_plain_message_into_task_args_and_queue() -> None:
    message = decode_message(RECEIPT)
    assert message["task"] == "emails.send_receipt", "the task name is the 'task' header"
    assert message["id"] == "5d2c7a3e-0f1b-4c55-9a51-2f1f0c9d8e01", "the id is the 'id' header"
    assert message["args"] == [5001, "ana@example.com"], (
        "the body is base64 (properties.body_encoding) of JSON [args, kwargs, embed]"
    )
    assert message["kwargs"] == {}
    assert message["queue"] == "emails", "the queue is delivery_info's routing_key"
    assert message["compressed"] is False
    assert (message["eta"], message["expires"], message["retries"]) == (None, None, 0)


def test_it_reads_eta_expires_and_kwargs_of_a_scheduled_message() -> None:
    message = decode_message(SCHEDULED)
    assert message["kwargs"] == {"email": "bo@example.com"}
    assert message["eta"] == "2026-11-27T18:36:53.614055+00:00", "countdown becomes the eta header"
    assert message["expires"] == "2026-11-27T19:36:23.614055+00:00"


def test_it_reports_the_priority_from_the_properties() -> None:
    assert decode_message(URGENT)["priority"] == 6, "priority lives in properties, not headers"
    assert decode_message(RECEIPT)["priority"] == 0


def test_it_decompresses_a_gzip_body_after_undoing_base64() -> None:
    message = decode_message(COMPRESSED)
    assert message["compressed"] is True, "headers['compression'] names the compression"
    assert message["args"] == ["acme"]
    assert message["kwargs"] == {"rows": list(range(50))}, (
        "application/x-gzip bodies are zlib data: base64-decode first, then zlib.decompress"
    )
    assert message["queue"] == "exports"


def test_it_handles_bzip2_too() -> None:
    message = decode_message(recompressed_with_bz2(COMPRESSED))
    assert message["kwargs"] == {"rows": list(range(50))}, "application/x-bz2 is bz2 data"


def test_it_refuses_to_unpickle_a_pickle_body() -> None:
    with pytest.raises(ValueError, match=r"(?i)pickle"):
        decode_message(PICKLED)


def test_it_rejects_garbage_unknown_compression_and_missing_headers() -> None:
    with pytest.raises(ValueError):
        decode_message("not json at all")
    envelope = json.loads(COMPRESSED)
    envelope["headers"]["compression"] = "application/x-brotli"
    with pytest.raises(ValueError, match=r"(?i)compression"):
        decode_message(json.dumps(envelope))
    del envelope["headers"]
    with pytest.raises(ValueError):  # a missing key must surface as ValueError, not KeyError
        decode_message(json.dumps(envelope))


def test_in_flight_lists_held_messages_oldest_delivery_first() -> None:
    unacked = {
        "tag-new": unacked_entry(RECEIPT, "emails"),
        "tag-old": unacked_entry(COMPRESSED, "exports"),
    }
    index = {"tag-new": 1_000_050.0, "tag-old": 1_000_000.0}
    report = in_flight(unacked, index, now=1_000_100.0)
    assert [entry["tag"] for entry in report] == ["tag-old", "tag-new"], (
        "sort by the unacked_index score: the delivery time"
    )
    old = report[0]
    assert (old["task"], old["id"], old["queue"]) == (
        "reports.export_csv",
        "a3c1e9d7-5b2f-4e6a-8d14-9c7b0f3e2a03",
        "exports",
    )
    assert old["age"] == pytest.approx(100.0)
    assert old["restore_in"] == pytest.approx(3500.0), "the default visibility timeout is 3600 s"
    assert old["overdue"] is False


def test_in_flight_marks_messages_past_the_visibility_timeout() -> None:
    unacked = {"a": unacked_entry(RECEIPT, "emails"), "b": unacked_entry(URGENT, "emails")}
    index = {"a": 0.0, "b": 100.0}
    report = in_flight(unacked, index, now=400.0, visibility_timeout=300.0)
    assert report[0]["overdue"] is True, "400 s since delivery is past a 300 s timeout"
    assert report[0]["restore_in"] == 0.0, "restore_in never goes below zero"
    assert report[1]["overdue"] is True, "exactly at the timeout counts as overdue"
    assert report[1]["restore_in"] == 0.0


def test_in_flight_skips_tags_acked_between_the_two_reads() -> None:
    unacked = {"a": unacked_entry(RECEIPT, "emails")}
    index = {"a": 10.0, "gone": 5.0}
    report = in_flight(unacked, index, now=20.0)
    assert [entry["tag"] for entry in report] == ["a"], (
        "a tag in unacked_index but not in the unacked hash was acked: leave it out"
    )
    assert in_flight({}, {}, now=0.0) == []


def test_queue_report_counts_tasks_and_unreadable_messages() -> None:
    raws = [RECEIPT, SCHEDULED, URGENT, COMPRESSED, PICKLED, "{broken"]
    report = queue_report(raws, now="2026-11-27T18:36:30+00:00")
    assert report["total"] == 6
    assert report["by_task"] == {"emails.send_receipt": 3, "reports.export_csv": 1}
    assert report["unreadable"] == 2, "the pickle and the broken message cannot be read"
    assert report["scheduled"] == 1, "SCHEDULED's eta 18:36:53 is after 18:36:30"
    assert report["expired"] == 0


def test_queue_report_compares_times_not_strings() -> None:
    later = queue_report([SCHEDULED, RECEIPT], now="2026-11-27T20:00:00+00:00")
    assert (later["scheduled"], later["expired"]) == (0, 1), (
        "at 20:00 the eta passed and it expired"
    )
    # 19:36:50+01:00 is 18:36:50 UTC, three seconds before the eta: still scheduled. As
    # strings, "2026-11-27T18:..." sorts before "2026-11-27T19:...", which gets it wrong.
    offset = queue_report([SCHEDULED], now="2026-11-27T19:36:50+01:00")
    assert offset["scheduled"] == 1, "parse with datetime.fromisoformat and compare datetimes"
    assert queue_report([], now="2026-11-27T20:00:00+00:00")["total"] == 0
