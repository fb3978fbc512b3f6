"""What calling an async def function returns, and what drives it to completion.

Parts 1-3 drive a coroutine by hand with send(), the way asyncio's Task does, so every step
is visible. Production code never calls send(); it awaits, or hands the coroutine to a loop.
"""

import asyncio
import gc
import inspect
import logging
import sys
import types
import warnings
from collections.abc import Generator

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("orders")


class PendingReply:
    """A minimal awaitable: `await` accepts any object whose __await__ returns an iterator."""

    def __init__(self, request: str) -> None:
        self.request = request
        self.cents: int | None = None

    def __repr__(self) -> str:
        return f"PendingReply({self.request!r})"

    def __await__(self) -> Generator["PendingReply", None, int]:
        while self.cents is None:
            yield self  # suspend: this object travels up to whoever called send()
        return self.cents


async def fetch_order_total(order_id: int) -> int:
    log.info("fetching order %d", order_id)
    try:
        cents = await PendingReply(f"GET /orders/{order_id}")
    finally:
        log.info("leaving fetch_order_total(%d)", order_id)
    return cents


def part_1_calling_runs_nothing() -> None:
    print("1. Calling a coroutine function")
    coro = fetch_order_total(1042)  # no log line: the body has not started
    assert isinstance(coro, types.CoroutineType)  # narrows the type for mypy
    print(f"   type={type(coro).__name__} state={inspect.getcoroutinestate(coro)}")
    print(f"   name={coro.__qualname__} awaitable={inspect.isawaitable(coro)}")
    print(f"   iscoroutinefunction: {inspect.iscoroutinefunction(fetch_order_total)}")
    coro.close()  # discard it without a "never awaited" warning


def part_2_driving_by_hand() -> None:
    print("2. Driving it with send(), as a Task would")
    coro = fetch_order_total(1042)
    assert isinstance(coro, types.CoroutineType)
    yielded = coro.send(None)  # runs the body up to the first suspension
    print(f"   send() returned {yielded!r}; state={inspect.getcoroutinestate(coro)}")
    assert coro.cr_frame is not None  # None only once the coroutine has finished
    context = inspect.getframeinfo(coro.cr_frame).code_context or ["?"]
    print(f"   suspended in: {context[0].strip()}")
    print(f"   cr_await holds the awaitable's iterator: a {type(coro.cr_await).__name__}")
    assert isinstance(yielded, PendingReply)
    yielded.cents = 4999  # the "I/O" completes
    try:
        coro.send(None)  # resumes after the await; the body returns
    except StopIteration as finished:
        print(f"   StopIteration.value={finished.value}; state={inspect.getcoroutinestate(coro)}")
    try:
        coro.send(None)
    except RuntimeError as error:
        print(f"   sending again: RuntimeError: {error}")


def part_3_throw_and_close() -> None:
    print("3. throw() and close() deliver an exception at the suspended await")
    coro = fetch_order_total(2077)
    coro.send(None)
    try:
        coro.throw(ConnectionResetError("billing service went away"))
    except ConnectionResetError as error:
        print(f"   throw() re-raised ConnectionResetError: {error}")
    coro = fetch_order_total(2078)
    coro.send(None)
    coro.close()  # GeneratorExit at the await; the finally block runs
    print(f"   after close(): state={inspect.getcoroutinestate(coro)}")


def part_4_the_loop_only_understands_futures() -> None:
    print("4. asyncio's Task accepts only Futures (or a bare yield) from the await chain")
    try:
        asyncio.run(fetch_order_total(3001))
    except RuntimeError as error:
        print(f"   RuntimeError: {error}")


def part_5_never_awaited() -> None:
    print("5. A coroutine that is created and dropped")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fetch_order_total(4100)  # type: ignore[unused-coroutine]  # mypy flags this bug
        gc.collect()
    for warning in caught:
        print(f"   {warning.category.__name__}: {warning.message}")


if __name__ == "__main__":
    part_1_calling_runs_nothing()
    part_2_driving_by_hand()
    part_3_throw_and_close()
    part_4_the_loop_only_understands_futures()
    part_5_never_awaited()
