"""Read what Celery left in Redis without Celery: messages, in-flight tasks and a queue report.

The inputs are what redis-cli (or redis-py with decode_responses=True) returns: LRANGE on a
queue gives message envelopes as JSON strings, HGETALL on `unacked` maps delivery tags to JSON
strings, and ZRANGE ... WITHSCORES on `unacked_index` maps delivery tags to delivery times.
"""

import bz2
import lzma
import zlib
from collections.abc import Callable
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
    # TODO: parse the envelope (a malformed one is a ValueError, whatever json or a missing
    #       key raised), refuse pickle, accept only JSON bodies.
    # TODO: undo body_encoding "base64", then the compression named in the headers (see
    #       DECOMPRESSORS), then parse [args, kwargs, embed].
    raise NotImplementedError


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
    # TODO: each unacked value is JSON: [envelope, exchange, routing_key]. Skip tags that
    #       are in the index but no longer in the hash (acked between the two reads).
    raise NotImplementedError


def queue_report(raws: list[str], now: str) -> dict[str, Any]:
    """Count a queue's messages: total, by task, scheduled (eta after now), expired (expires
    at or before now) and unreadable (decode_message refused them). `now` is ISO 8601 with a
    UTC offset, like the eta and expires headers."""
    # TODO: reuse decode_message; compare datetimes, not strings.
    raise NotImplementedError
