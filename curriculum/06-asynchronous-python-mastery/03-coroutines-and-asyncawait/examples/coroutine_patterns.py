"""Patterns for coroutine functions: decorators, retries, mixed sync/async callbacks, run().

Each part shows the version teams write first, what goes wrong with it, and the fix.
"""

import asyncio
import functools
import gc
import inspect
import logging
import sys
import time
import warnings
from collections.abc import Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  log: %(message)s")
log = logging.getLogger("payments")
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


# --- 1. Decorators ---------------------------------------------------------------------------
def logged_sync(func: Callable[P, R]) -> Callable[P, R]:
    """The wrapper every team already has: it times the *call*, which only builds a coroutine."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        result = func(*args, **kwargs)
        log.info("%s finished (sync wrapper)", func.__qualname__)
        return result

    return wrapper


def logged(
    func: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """An async wrapper: it awaits the call, so it sees the work and the exceptions."""

    @functools.wraps(func)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return await func(*args, **kwargs)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.info("%s finished in %.1f ms", func.__qualname__, elapsed_ms)

    return wrapper


async def charge_card(order_id: str, cents: int) -> str:
    await asyncio.sleep(0.01)  # the payment gateway
    log.info("charged %s: %d cents", order_id, cents)
    return f"ch_{order_id}"


async def part_1() -> None:
    print("1. A sync decorator on a coroutine function")
    wrong = logged_sync(charge_card)
    await wrong("ORD-1", 1500)
    print(f"   iscoroutinefunction(wrong)={inspect.iscoroutinefunction(wrong)}")
    right = logged(charge_card)
    await right("ORD-2", 2500)
    print(f"   iscoroutinefunction(right)={inspect.iscoroutinefunction(right)}")


# --- 2. Retrying ------------------------------------------------------------------------------
class FlakyRates:
    """A rates service that drops the first `failures` connections."""

    def __init__(self, failures: int) -> None:
        self.failures = failures

    async def fetch(self, currency: str) -> Decimal:
        await asyncio.sleep(0)
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("rates service reset the connection")
        return Decimal("1.08")


async def retry_awaitable(call: Awaitable[T], attempts: int) -> T:
    """Wrong: it receives one coroutine object, and a coroutine runs at most once."""
    for attempt in range(1, attempts + 1):
        try:
            return await call
        except ConnectionError as error:
            log.info("attempt %d failed: %s", attempt, error)
    raise RuntimeError("unreachable")


async def retry(make_call: Callable[[], Awaitable[T]], attempts: int) -> T:
    """Right: it receives a factory and builds a fresh coroutine for every attempt."""
    for attempt in range(1, attempts + 1):
        try:
            return await make_call()
        except ConnectionError as error:
            if attempt == attempts:
                raise
            log.info("attempt %d failed: %s", attempt, error)
            await asyncio.sleep(0.01 * 2 ** (attempt - 1))  # backoff (section 6.15)
    raise ValueError("attempts must be at least 1")


async def part_2() -> None:
    print("2. Retrying a coroutine object vs a coroutine factory")
    try:
        await retry_awaitable(FlakyRates(failures=1).fetch("EUR"), attempts=3)
    except RuntimeError as error:
        print(f"   RuntimeError: {error}")
    rate = await retry(functools.partial(FlakyRates(failures=2).fetch, "EUR"), attempts=3)
    print(f"   rate after retries: {rate}")


# --- 3. Callbacks that may be sync or async ---------------------------------------------------
def audit_refund(order_id: str) -> None:
    log.info("audit: refund on %s", order_id)


async def notify_customer(order_id: str) -> None:
    await asyncio.sleep(0)
    log.info("email: refund on %s", order_id)


class FraudCheck:
    async def __call__(self, order_id: str) -> None:
        await asyncio.sleep(0)
        log.info("fraud: refund on %s scored", order_id)


Handler = Callable[[str], Awaitable[None] | None]
HANDLERS: dict[str, Handler] = {
    "def audit_refund": audit_refund,
    "async def notify_customer": notify_customer,
    "partial(notify_customer)": functools.partial(notify_customer),
    "FraudCheck()": FraudCheck(),
}


async def dispatch_naive(order_id: str) -> None:
    """Branches on iscoroutinefunction(), as many plugin systems do."""
    for handler in HANDLERS.values():
        if inspect.iscoroutinefunction(handler):
            await handler(order_id)
        else:
            handler(order_id)  # FraudCheck() lands here: its coroutine is dropped


async def dispatch(order_id: str) -> None:
    """Calls first, then awaits whatever came back awaitable."""
    for handler in HANDLERS.values():
        result = handler(order_id)
        if inspect.isawaitable(result):
            await result


async def part_3() -> None:
    print("3. Dispatching an event to sync and async handlers")
    for label, handler in HANDLERS.items():
        print(f"   {label:<27} iscoroutinefunction={inspect.iscoroutinefunction(handler)}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        await dispatch_naive("ORD-8")
        gc.collect()
    for warning in caught:
        print(f"   naive dispatch: {warning.category.__name__}: {warning.message}")
    await dispatch("ORD-9")


# --- 4. One asyncio.run() per program ---------------------------------------------------------
async def part_4() -> None:
    print("4. asyncio.run() called from inside a coroutine")
    nested = charge_card("ORD-3", 900)
    try:
        asyncio.run(nested)
    except RuntimeError as error:
        nested.close()  # it was never started; close it so no warning fires later
        print(f"   RuntimeError: {error}")
    receipt = await charge_card("ORD-3", 900)  # inside async code, just await it
    print(f"   receipt {receipt}")


async def main() -> None:
    await part_1()
    await part_2()
    await part_3()
    await part_4()


if __name__ == "__main__":
    asyncio.run(main())
