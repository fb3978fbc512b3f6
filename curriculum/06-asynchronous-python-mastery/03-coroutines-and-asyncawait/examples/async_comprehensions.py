"""Async comprehensions: `async for` and `await` inside comprehensions, and what each costs.

invoice_stream() is an async generator; exchange_rate() stands in for a 20 ms HTTP call and
counts how many calls are in flight at once.
"""

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from decimal import Decimal

RATES = {"EUR": Decimal("1.08"), "GBP": Decimal("1.27"), "JPY": Decimal("0.0067")}
LATENCY_S = 0.02


@dataclass(frozen=True)
class Invoice:
    number: str
    tenant: str
    currency: str
    total: Decimal
    days_overdue: int


@dataclass
class Calls:
    started: int = 0
    in_flight: int = 0
    peak: int = 0


calls = Calls()


async def invoice_stream(tenant: str) -> AsyncGenerator[Invoice, None]:
    currencies = list(RATES)
    for n in range(4):
        await asyncio.sleep(0)  # a page boundary: other tasks may run here
        yield Invoice(
            f"{tenant[:3].upper()}-{n + 1}",
            tenant,
            currencies[n % 3],
            Decimal(f"{100 * (n + 1)}.00"),
            15 * n,
        )


async def exchange_rate(currency: str) -> Decimal:
    calls.started += 1
    calls.in_flight += 1
    calls.peak = max(calls.peak, calls.in_flight)
    try:
        await asyncio.sleep(LATENCY_S)
        return RATES[currency]
    finally:
        calls.in_flight -= 1


async def in_usd(invoice: Invoice) -> Decimal:
    return (invoice.total * await exchange_rate(invoice.currency)).quantize(Decimal("0.01"))


def reset() -> None:
    calls.started = calls.in_flight = calls.peak = 0


async def main() -> None:
    print("1. Filtering an async stream into a list")
    overdue = [inv.number async for inv in invoice_stream("acme") if inv.days_overdue > 20]
    print(f"   overdue: {overdue}")

    print("2. Dict and set comprehensions over async generators")
    totals = {inv.number: inv.total async for inv in invoice_stream("acme")}
    currencies = {inv.currency async for inv in invoice_stream("globex")}
    print(f"   totals: { {number: str(total) for number, total in totals.items()} }")
    print(f"   currencies used by globex: {sorted(currencies)}")

    print("3. await inside a comprehension runs the calls one after another")
    reset()
    started = time.perf_counter()
    rates = {code: await exchange_rate(code) for code in RATES}
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"   {len(rates)} rates, peak in flight {calls.peak}, {elapsed_ms:.0f} ms")
    reset()
    started = time.perf_counter()
    fetched = await asyncio.gather(*(exchange_rate(code) for code in RATES))
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"   gather(): {len(fetched)} rates, peak in flight {calls.peak}, {elapsed_ms:.0f} ms")

    print("4. An async generator expression is lazy")
    reset()
    converted = (await in_usd(inv) async for inv in invoice_stream("initech"))
    print(f"   built an {type(converted).__name__}; exchange_rate calls so far: {calls.started}")
    first = await anext(converted)
    print(f"   first value {first} USD; exchange_rate calls so far: {calls.started}")
    await converted.aclose()

    print("5. Python 3.11: an async comprehension nested in a plain one")
    tenants = ["acme", "globex"]
    numbers = [[inv.number async for inv in invoice_stream(t)] for t in tenants]
    print(f"   {numbers}")

    print("6. Outside an async def, the compiler refuses")
    source = "def overdue(stream):\n    return [i async for i in stream]\n"
    try:
        compile(source, "<billing>", "exec")
    except SyntaxError as error:
        print(f"   SyntaxError: {error.msg}")


if __name__ == "__main__":
    asyncio.run(main())
