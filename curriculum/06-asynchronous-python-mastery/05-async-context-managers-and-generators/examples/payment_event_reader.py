"""The AsyncIterator protocol by hand, over a Redis stream of payment events.

`PaymentEventReader` implements __aiter__ and __anext__ itself and fetches one XRANGE page per
`batch` events; `payment_events()` is the same reader as an async generator. Round trips are
counted, so the output shows when each one actually talks to Redis.
"""

import asyncio
import inspect
import logging
import os
import sys
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

import redis.asyncio as redis

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
STREAM = "s6_5:payments"
log = logging.getLogger("payments.reader")


@dataclass(frozen=True)
class PaymentEvent:
    entry_id: str
    invoice_id: int
    amount: Decimal


Page = list[tuple[bytes, dict[bytes, bytes]]]


async def xrange_page(client: redis.Redis, stream: str, start: str, count: int) -> Page:
    # redis-py types replies loosely; without decode_responses they are bytes
    return cast(Page, await client.xrange(stream, min=start, count=count))


def parse(entry_id: bytes, fields: dict[bytes, bytes]) -> PaymentEvent:
    return PaymentEvent(
        entry_id.decode(), int(fields[b"invoice_id"]), Decimal(fields[b"amount"].decode())
    )


class PaymentEventReader:
    """An async iterator: every __anext__ hands out one event, refilling its buffer on demand."""

    def __init__(self, client: redis.Redis, stream: str, *, batch: int = 50) -> None:
        self._client = client
        self._stream = stream
        self._batch = batch
        self._start = "-"  # XRANGE's smallest possible id
        self._buffer: deque[PaymentEvent] = deque()
        self._exhausted = False
        self.round_trips = 0

    def __aiter__(self) -> "PaymentEventReader":
        return self  # an iterator is its own iterable: a second loop resumes, it does not restart

    async def __anext__(self) -> PaymentEvent:
        if not self._buffer and not self._exhausted:
            page = await xrange_page(self._client, self._stream, self._start, self._batch)
            self.round_trips += 1
            log.info("    round trip %d: XRANGE -> %d entries", self.round_trips, len(page))
            self._buffer.extend(parse(entry_id, fields) for entry_id, fields in page)
            self._exhausted = len(page) < self._batch
            if page:
                self._start = "(" + page[-1][0].decode()  # exclusive start, Redis 6.2+
        if not self._buffer:
            raise StopAsyncIteration  # ends `async for`; anext(it, default) returns the default
        return self._buffer.popleft()


async def payment_events(
    client: redis.Redis, stream: str, *, batch: int = 50
) -> AsyncGenerator[PaymentEvent, None]:
    """The same reader as an async generator: the state lives in local variables."""
    start = "-"
    while True:
        page = await xrange_page(client, stream, start, batch)
        for entry_id, fields in page:
            yield parse(entry_id, fields)
        if len(page) < batch:
            return
        start = "(" + page[-1][0].decode()


class PaymentStream:
    """An async iterable: each `async for` gets a fresh generator, so it can be read twice."""

    def __init__(self, client: redis.Redis, stream: str) -> None:
        self._client = client
        self._stream = stream

    def __aiter__(self) -> AsyncIterator[PaymentEvent]:
        return payment_events(self._client, self._stream)


async def main() -> None:
    async with redis.Redis.from_url(REDIS_URL) as client:
        await client.delete(STREAM)
        async with client.pipeline(transaction=False) as pipe:
            for invoice_id in range(1, 121):
                pipe.xadd(STREAM, {"invoice_id": invoice_id, "amount": f"{invoice_id * 5}.00"})
            await pipe.execute()  # 120 XADDs in one round trip

        print("1. async for over a hand-written AsyncIterator (batch=50, 120 events)")
        reader = PaymentEventReader(client, STREAM, batch=50)
        total = Decimal(0)
        count = 0
        async for event in reader:
            total += event.amount
            count += 1
        print(f"  {count} events, {total} paid, {reader.round_trips} round trips")

        print("2. The iterator is spent: a second loop sees nothing, anext() gets the default")
        again = [event async for event in reader]
        leftover = await anext(reader, None)
        print(f"  second loop: {len(again)} events; anext(reader, None) -> {leftover}")

        print("3. Driving it by hand with aiter() and anext()")
        reader = PaymentEventReader(client, STREAM, batch=2)
        iterator = aiter(reader)
        first = await anext(iterator)
        second = await anext(iterator)
        third = await anext(iterator)
        print(f"  invoices {first.invoice_id}, {second.invoice_id}, {third.invoice_id}")
        print(f"  round trips so far: {reader.round_trips}")

        print("4. The async generator version, and an async iterable that restarts")
        events = payment_events(client, STREAM)
        print(f"  generator: {sum([e.amount async for e in events], Decimal(0))} paid")
        stream = PaymentStream(client, STREAM)
        first_pass = [e.invoice_id async for e in stream]
        second_pass = [e.invoice_id async for e in stream]
        print(f"  PaymentStream read twice: {len(first_pass)} and {len(second_pass)} events")

        print("5. What the ABCs and inspect say")
        checks = {
            "PaymentEventReader is an AsyncIterator": isinstance(reader, AsyncIterator),
            "PaymentStream is an AsyncIterable": isinstance(stream, AsyncIterable),
            "PaymentStream is an AsyncIterator": isinstance(stream, AsyncIterator),
            "payment_events() is an async generator": inspect.isasyncgen(events),
            "redis-py's scan_iter() is an async generator": inspect.isasyncgen(client.scan_iter()),
        }
        for claim, answer in checks.items():
            print(f"  {claim}: {answer}")

        print("6. An async comprehension over redis-py's scan_iter()")
        async with client.pipeline(transaction=False) as pipe:
            for tenant_id in range(1, 26):
                pipe.set(f"s6_5:tenant:{tenant_id}:plan", "pro" if tenant_id % 5 == 0 else "basic")
            await pipe.execute()
        keys = {key async for key in client.scan_iter(match="s6_5:tenant:*", count=100)}
        print(f"  {len(keys)} tenant keys found")

        print("7. async for needs __aiter__")
        try:
            async for event in [PaymentEvent("0-1", 1, Decimal("5.00"))]:  # type: ignore[attr-defined]
                print(event)
        except TypeError as error:
            print(f"  TypeError: {error}")

        await client.delete(STREAM, *keys)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    asyncio.run(main())
