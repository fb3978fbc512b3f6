"""What a Celery task becomes in Redis, and what protects it there.

No worker runs: the example publishes two order tasks through the Redis transport and then
reads Redis directly to show
1. the keys kombu created (a list per queue, a set of bindings per exchange);
2. the message envelope, with the task body base64-encoded inside JSON;
3. the server settings that decide whether those keys survive a Redis restart;
4. the transport's visibility_timeout, which governs redelivery (section 7.7 runs it).
"""

import base64
import json
import logging
import os
from typing import Any

import redis
from celery import Celery
from kombu.transport.redis import Channel

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NS = f"s7_9_storage_{os.getpid()}"
PREFIX = f"{NS}:"
log = logging.getLogger("orders.redis_broker")

app = Celery(NS, broker=REDIS_URL)
app.conf.update(
    task_default_queue="orders",
    task_default_exchange="orders",
    task_ignore_result=True,
    broker_transport_options={"global_keyprefix": PREFIX},  # namespace every kombu key
)


@app.task(name="orders.place")
def place_order(order_id: str, total_cents: int) -> None:
    log.info("placing %s (%d cents)", order_id, total_cents)


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def show_keys(client: redis.Redis) -> None:
    print("1. Keys after publishing two tasks (prefix removed)")
    for raw in sorted(client.scan_iter(match=f"{PREFIX}*")):
        key = text(raw)
        kind = text(client.type(key))
        size = client.llen(key) if kind == "list" else client.scard(key)
        print(f"   {key.removeprefix(PREFIX):<32} {kind:<5} {size} item(s)")
    for member in client.smembers(f"{PREFIX}_kombu.binding.orders"):
        routing_key, pattern, queue = text(member).split(Channel.sep)
        print(f"   binding: routing_key={routing_key!r} pattern={pattern!r} queue={queue!r}")


def show_envelope(client: redis.Redis) -> None:
    print("\n2. The oldest message (workers BRPOP from the right end)")
    raw = client.lindex(f"{PREFIX}orders", -1)
    if raw is None:
        raise RuntimeError("the orders list is empty")
    envelope: dict[str, Any] = json.loads(raw)
    props = envelope["properties"]
    print(f"   envelope keys: {sorted(envelope)}")
    print(f"   body_encoding: {props['body_encoding']}, delivery_mode: {props['delivery_mode']}")
    args, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
    print(f"   decoded body: args={args} kwargs={kwargs}")
    print(f"   task header: {envelope['headers']['task']}, {len(raw)} bytes stored")


def show_persistence(client: redis.Redis) -> None:
    print("\n3. What decides whether the list survives a Redis restart")
    try:
        appendonly = client.config_get("appendonly").get("appendonly")
        save = client.config_get("save").get("save")
    except redis.ResponseError as exc:  # managed services often disable CONFIG
        print(f"   CONFIG GET not allowed here: {exc}")
        return
    print(f"   this server: appendonly={appendonly} save='{save}'")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    place_order.delay("ORD-3001", 4_250)
    place_order.delay("ORD-3002", 990)
    client = redis.Redis.from_url(REDIS_URL)
    show_keys(client)
    show_envelope(client)
    show_persistence(client)
    print("\n4. Redelivery of unacknowledged messages")
    print(f"   kombu's default visibility_timeout: {Channel.visibility_timeout} s")


def clean_up() -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{PREFIX}*"):
        client.delete(key)


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
