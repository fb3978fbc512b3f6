"""Testing async code with plain pytest: asyncio.run() in sync tests, no plugin needed.

The code under test is a currency-quote service: concurrent callers for one currency share a
single fetch, a hung upstream meets a deadline, and failures are retried with backoff. The tests
replace time with a recording fake, order concurrent steps with an Event instead of sleeps, check
that nothing is left running, and use debug mode with pytest's caplog to fail when a fetch blocks
the loop. Run as a script, this file runs itself under pytest.
"""

import asyncio
import logging
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest

log = logging.getLogger("quotes")
Fetch = Callable[[str], Awaitable[Decimal]]
Sleep = Callable[[float], Awaitable[None]]


class RatesUnavailable(Exception):
    pass


class QuoteService:
    def __init__(
        self,
        fetch_rate: Fetch,
        *,
        sleep: Sleep = asyncio.sleep,
        attempts: int = 3,
        deadline: float = 2.0,
    ) -> None:
        self._fetch_rate, self._sleep = fetch_rate, sleep
        self.attempts, self.deadline = attempts, deadline
        self._inflight: dict[str, asyncio.Task[Decimal]] = {}

    async def quote(self, currency: str, amount: Decimal) -> Decimal:
        return (amount * await self.rate(currency)).quantize(Decimal("0.01"))

    async def rate(self, currency: str) -> Decimal:
        task = self._inflight.get(currency)
        if task is None:  # single flight: one fetch per currency, however many callers
            task = asyncio.create_task(self._fetch_with_retry(currency), name=f"rate-{currency}")
            self._inflight[currency] = task
            task.add_done_callback(lambda _: self._inflight.pop(currency, None))
        return await task

    async def _fetch_with_retry(self, currency: str) -> Decimal:
        for attempt in range(1, self.attempts + 1):
            try:
                async with asyncio.timeout(self.deadline):
                    return await self._fetch_rate(currency)
            except (ConnectionError, TimeoutError) as error:
                log.warning("rate %s attempt %d failed: %r", currency, attempt, error)
                if attempt == self.attempts:
                    raise RatesUnavailable(currency) from error
                await self._sleep(0.5 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")


class FakeClock:
    """Replaces asyncio.sleep: records each delay and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)
        await asyncio.sleep(0)  # still yield, as a real sleep would


def test_a_quote_multiplies_by_the_fetched_rate() -> None:
    async def fetch(currency: str) -> Decimal:
        return Decimal("1.0842")

    service = QuoteService(fetch)
    assert asyncio.run(service.quote("EUR", Decimal("250"))) == Decimal("271.05")


def test_retries_back_off_without_really_waiting() -> None:
    failures = iter([ConnectionResetError("reset"), ConnectionResetError("reset")])

    async def flaky(currency: str) -> Decimal:
        error = next(failures, None)
        if error is not None:
            raise error
        return Decimal("0.9312")

    clock = FakeClock()
    started = time.perf_counter()
    rate = asyncio.run(QuoteService(flaky, sleep=clock.sleep).rate("CHF"))
    assert rate == Decimal("0.9312")
    assert clock.delays == [0.5, 1.0], "backoff doubles: 0.5 s, then 1 s"
    assert time.perf_counter() - started < 0.5, "the fake clock must not really wait 1.5 s"


def test_concurrent_callers_share_one_fetch() -> None:
    calls: list[str] = []
    release = asyncio.Event()

    async def gated(currency: str) -> Decimal:
        calls.append(currency)
        await release.wait()  # held until every caller is waiting: no sleep-and-hope
        return Decimal("151.20")

    async def scenario() -> list[Decimal]:
        service = QuoteService(gated)
        callers = [asyncio.create_task(service.rate("JPY")) for _ in range(10)]
        await asyncio.sleep(0)  # one loop iteration: all ten callers reach their await
        release.set()
        return await asyncio.gather(*callers)

    assert asyncio.run(scenario()) == [Decimal("151.20")] * 10
    assert calls == ["JPY"], f"expected one upstream fetch for ten callers, got {calls}"


def test_a_hung_upstream_fails_at_the_deadline_and_leaves_no_task() -> None:
    async def hung(currency: str) -> Decimal:
        await asyncio.Event().wait()  # never answers
        raise AssertionError("unreachable")

    async def scenario() -> set[str]:
        async with asyncio.timeout(2):  # if the code under test hangs, fail in 2 s, not never
            service = QuoteService(hung, sleep=FakeClock().sleep, attempts=2, deadline=0.05)
            with pytest.raises(RatesUnavailable) as failure:
                await service.rate("GBP")
        assert isinstance(failure.value.__cause__, TimeoutError)
        return {
            task.get_name() for task in asyncio.all_tasks() if task is not asyncio.current_task()
        }

    started = time.perf_counter()
    leftovers = asyncio.run(scenario(), debug=True)
    assert leftovers == set(), f"tasks still running after the failure: {leftovers}"
    assert time.perf_counter() - started < 1.0, "two 50 ms deadlines, not a hang"


async def run_with_slow_callback_check(service: QuoteService) -> Decimal:
    asyncio.get_running_loop().slow_callback_duration = 0.05
    return await service.rate("USD")


def test_the_fetch_path_never_blocks_the_loop(caplog: pytest.LogCaptureFixture) -> None:
    async def polite(currency: str) -> Decimal:
        await asyncio.sleep(0.06)  # waits just as long, but yields
        return Decimal("1.0")

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        asyncio.run(run_with_slow_callback_check(QuoteService(polite)), debug=True)
    slow = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert slow == [], f"a step held the loop longer than 50 ms: {slow}"


def test_the_guard_catches_a_blocking_fetch(caplog: pytest.LogCaptureFixture) -> None:
    async def blocking(currency: str) -> Decimal:
        time.sleep(0.06)  # a synchronous client call inside async code
        return Decimal("1.0")

    with caplog.at_level(logging.WARNING, logger="asyncio"):
        asyncio.run(run_with_slow_callback_check(QuoteService(blocking)), debug=True)
    slow = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert len(slow) == 1 and "name='rate-USD'" in slow[0], slow


PYTEST_INI = """\
[pytest]
addopts = --strict-markers
filterwarnings = error
"""


def main() -> None:
    sys.dont_write_bytecode = True  # no rewritten .pyc files next to the example
    with tempfile.TemporaryDirectory(prefix="s6_14_") as folder:
        ini = Path(folder) / "pytest.ini"
        ini.write_text(PYTEST_INI)
        here = str(Path(__file__).parent)
        options = ["-v", "--no-header", "-p", "no:cacheprovider", "--disable-plugin-autoload"]
        code = pytest.main([__file__, *options, "-c", str(ini), "--rootdir", here])
    print(f"pytest exit code: {int(code)}")


if __name__ == "__main__":
    os.environ["COLUMNS"] = "80"
    main()
