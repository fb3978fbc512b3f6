"""Read what Celery left in Redis without Celery: messages, in-flight tasks and a queue report.

The inputs are what redis-cli (or redis-py with decode_responses=True) returns: LRANGE on a
queue gives message envelopes as JSON strings, HGETALL on `unacked` maps delivery tags to JSON
strings, and ZRANGE ... WITHSCORES on `unacked_index` maps delivery tags to delivery times.
"""

import base64
import bz2
import json
import lzma
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import Any

JSON = "application/json"
PICKLE = "application/x-python-serialize"
DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "application/x-gzip": zlib.decompress,  # kombu's "gzip" is zlib data
    "application/x-bz2": bz2.decompress,
    "application/x-lzma": lzma.decompress,
}


def decode_message(raw: str) -> dict[str, Any]:
    """Summarise one Celery task message as stored in a Redis queue list.

    Returns task, id, args, kwargs, queue (the routing key), eta, expires, retries, priority
    and compressed. Raises ValueError for anything that is not a readable JSON task message,
    and never unpickles: a pickle body is refused, not decoded.
    """
    try:
        envelope = json.loads(raw)
        headers, properties = envelope["headers"], envelope["properties"]
        content_type, body = envelope["content-type"], envelope["body"]
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"not a kombu message envelope: {error}") from error
    if content_type == PICKLE:
        raise ValueError("refusing to unpickle a message body: it could run any code")
    if content_type != JSON:
        raise ValueError(f"unsupported content type {content_type!r}")
    compression = headers.get("compression")
    if compression is not None and compression not in DECOMPRESSORS:
        raise ValueError(f"unsupported compression {compression!r}")
    try:
        data = base64.b64decode(body) if properties.get("body_encoding") == "base64" else body
        if isinstance(data, str):
            data = data.encode()
        if compression is not None:
            data = DECOMPRESSORS[compression](data)
        args, kwargs, _embed = json.loads(data)
    except (ValueError, TypeError, zlib.error, OSError, lzma.LZMAError) as error:
        raise ValueError(f"unreadable message body: {error}") from error
    return {
        "task": headers["task"],
        "id": headers["id"],
        "args": args,
        "kwargs": kwargs,
        "queue": properties["delivery_info"]["routing_key"],
        "eta": headers.get("eta"),
        "expires": headers.get("expires"),
        "retries": headers.get("retries", 0),
        "priority": properties.get("priority", 0),
        "compressed": compression is not None,
    }


def in_flight(
    unacked: dict[str, str],
    index: dict[str, float],
    now: float,
    visibility_timeout: float = 3600.0,
) -> list[dict[str, Any]]:
    """The messages workers hold but have not acknowledged, oldest delivery first.

    Each entry has tag, task, id, queue, age (seconds since delivery), restore_in (seconds
    until kombu may put it back in its queue, never below 0) and overdue.
    """
    report = []
    for tag, delivered_at in sorted(index.items(), key=lambda item: (item[1], item[0])):
        if tag not in unacked:
            continue  # acked between the two reads
        envelope, _exchange, routing_key = json.loads(unacked[tag])
        age = now - delivered_at
        report.append(
            {
                "tag": tag,
                "task": envelope["headers"]["task"],
                "id": envelope["headers"]["id"],
                "queue": routing_key,
                "age": age,
                "restore_in": max(0.0, visibility_timeout - age),
                "overdue": age >= visibility_timeout,
            }
        )
    return report


def queue_report(raws: list[str], now: str) -> dict[str, Any]:
    """Count a queue's messages: total, by task, scheduled (eta after now), expired (expires
    at or before now) and unreadable (decode_message refused them). `now` is ISO 8601 with a
    UTC offset, like the eta and expires headers."""
    moment = datetime.fromisoformat(now)
    by_task: Counter[str] = Counter()
    scheduled = expired = unreadable = 0
    for raw in raws:
        try:
            message = decode_message(raw)
        except ValueError:
            unreadable += 1
            continue
        by_task[message["task"]] += 1
        if message["eta"] and datetime.fromisoformat(message["eta"]) > moment:
            scheduled += 1
        if message["expires"] and datetime.fromisoformat(message["expires"]) <= moment:
            expired += 1
    return {
        "total": len(raws),
        "by_task": dict(sorted(by_task.items())),
        "scheduled": scheduled,
        "expired": expired,
        "unreadable": unreadable,
    }
