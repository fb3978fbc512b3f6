import asyncio
import itertools
import random
import time

import pytest
from gateway_guard import CircuitBreaker, CircuitOpenError, TokenBucket, retry_call


class ManualClock:
    """A clock the test sets by hand; fake_sleep() moves it forward instead of waiting."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def fake_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


class GatewayDown(Exception):
    pass


class Gateway:
    """A fake payment gateway: counts the calls that reached it, fails while `down`."""

    def __init__(self) -> None:
        self.down = False
        self.calls = 0

    async def charge(self) -> str:
        self.calls += 1
        await asyncio.sleep(0)
        if self.down:
            raise GatewayDown("503 from the gateway")
        return "charged"


async def outcome(breaker: CircuitBreaker, gateway: Gateway) -> str:
    try:
        return await breaker.call(gateway.charge)
    except CircuitOpenError:
        return "rejected"
    except GatewayDown:
        return "failed"


def test_a_new_bucket_allows_a_burst_of_capacity_then_refuses() -> None:
    async def scenario() -> list[bool]:
        bucket = TokenBucket(rate=2, capacity=3, clock=ManualClock())
        return [bucket.try_acquire() for _ in range(4)]

    got = asyncio.run(scenario())
    assert got == [True, True, True, False], (
        f"a new bucket is full: 3 requests pass at once, the 4th is refused; got {got}"
    )


def test_the_bucket_refills_at_rate_and_never_above_capacity() -> None:
    async def scenario() -> tuple[bool, bool, list[bool]]:
        clock = ManualClock()
        bucket = TokenBucket(rate=2, capacity=3, clock=clock)
        for _ in range(3):
            bucket.try_acquire()
        clock.now += 0.25  # half a token
        early = bucket.try_acquire()
        clock.now += 0.25  # one token
        on_time = bucket.try_acquire()
        clock.now += 600  # a quiet ten minutes
        return early, on_time, [bucket.try_acquire() for _ in range(4)]

    early, on_time, after_idle = asyncio.run(scenario())
    assert not early, "after 0.25 s at 2 tokens/s only half a token has come back"
    assert on_time, "after 0.5 s at 2 tokens/s one whole token is back"
    assert after_idle == [True, True, True, False], (
        f"a long pause refills the bucket to its capacity (3), not beyond; got {after_idle}"
    )


def test_tokens_can_be_weighted() -> None:
    async def scenario() -> list[bool]:
        clock = ManualClock()
        bucket = TokenBucket(rate=1, capacity=10, clock=clock)
        results = [bucket.try_acquire(6), bucket.try_acquire(6)]
        clock.now += 2
        results.append(bucket.try_acquire(6))
        return results

    got = asyncio.run(scenario())
    assert got == [True, False, True], (
        f"a batch call costing 6 tokens: 10 -> 4, refused at 4, allowed at 6; got {got}"
    )


def test_acquire_waits_exactly_for_the_missing_tokens() -> None:
    clock = ManualClock()

    async def scenario() -> None:
        bucket = TokenBucket(rate=4, capacity=2, clock=clock, sleep=clock.fake_sleep)
        await bucket.acquire(2)
        clock.now += 0.1  # 0.4 of a token comes back
        await bucket.acquire(1)

    asyncio.run(scenario())
    assert clock.sleeps, "acquire() on an empty bucket must wait with the injected sleep"
    assert sum(clock.sleeps) == pytest.approx(0.15), (
        "0.6 of a token is missing, at 4 tokens/s that is a 0.15 s wait, not the 0.25 s a "
        f"whole token takes; slept {clock.sleeps}"
    )


def test_concurrent_acquirers_are_spaced_at_the_rate() -> None:
    async def scenario() -> list[float]:
        bucket = TokenBucket(rate=50, capacity=1)  # the real monotonic clock and sleep
        granted: list[float] = []

        async def caller() -> None:
            await bucket.acquire()
            granted.append(time.monotonic())

        await asyncio.gather(*(caller() for _ in range(6)))
        return granted

    granted = asyncio.run(scenario())
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
    assert min(gaps) >= 0.018, (
        "six callers waiting together must still get their tokens 1/50 s apart; the "
        f"smallest gap was {min(gaps):.4f} s. Re-check the bucket after every sleep, and "
        "let one waiter sleep at a time (an asyncio.Lock)"
    )


def test_acquire_refuses_more_than_the_capacity() -> None:
    async def scenario() -> None:
        bucket = TokenBucket(rate=1, capacity=5, clock=ManualClock())
        async with asyncio.timeout(1):
            await bucket.acquire(6)

    with pytest.raises(ValueError):
        asyncio.run(scenario())


def test_the_breaker_stays_closed_until_min_calls() -> None:
    async def scenario() -> tuple[list[str], str]:
        gateway = Gateway()
        gateway.down = True
        breaker = CircuitBreaker(
            window=10, min_calls=5, failure_ratio=0.5, cooldown=30, clock=ManualClock()
        )
        results = [await outcome(breaker, gateway) for _ in range(4)]
        return results, breaker.state

    results, state = asyncio.run(scenario())
    assert results == ["failed"] * 4 and state == "closed", (
        "4 failures out of 4 calls are too few to judge with min_calls=5: the breaker "
        f"stays closed; got {results}, state {state!r}"
    )


def test_the_breaker_opens_at_the_failure_ratio_and_stops_calling() -> None:
    async def scenario() -> tuple[list[str], str, int]:
        gateway = Gateway()
        breaker = CircuitBreaker(
            window=10, min_calls=5, failure_ratio=0.5, cooldown=30, clock=ManualClock()
        )
        results = [await outcome(breaker, gateway) for _ in range(5)]  # 5 successes
        gateway.down = True
        results += [await outcome(breaker, gateway) for _ in range(8)]
        return results, breaker.state, gateway.calls

    results, state, calls = asyncio.run(scenario())
    assert results[5:10] == ["failed"] * 5, (
        f"5 failures after 5 successes are 50 % of the window: it opens on the 5th; {results}"
    )
    assert results[10:] == ["rejected"] * 3 and state == "open", (
        f"an open breaker raises CircuitOpenError; got {results[10:]}, state {state!r}"
    )
    assert calls == 10, f"rejected calls must not reach the gateway; it saw {calls}, not 10"


def test_only_the_last_window_calls_count() -> None:
    async def scenario() -> str:
        gateway = Gateway()
        breaker = CircuitBreaker(
            window=4, min_calls=4, failure_ratio=0.75, cooldown=30, clock=ManualClock()
        )
        gateway.down = True
        for _ in range(2):
            await outcome(breaker, gateway)
        gateway.down = False
        for _ in range(4):
            await outcome(breaker, gateway)
        gateway.down = True
        for _ in range(2):
            await outcome(breaker, gateway)
        return breaker.state

    state = asyncio.run(scenario())
    assert state == "closed", (
        "4 of the 8 calls failed, but the last 4 hold only 2 failures (50 % < 75 %): "
        f"old outcomes must slide out of the window; state is {state!r}"
    )


def strict_breaker(clock: ManualClock) -> CircuitBreaker:
    """Opens after 2 failures out of 2; a 30-second cooldown."""
    return CircuitBreaker(window=4, min_calls=2, failure_ratio=1.0, cooldown=30, clock=clock)


def test_after_the_cooldown_one_probe_at_a_time_is_let_through() -> None:
    async def scenario() -> tuple[str, str, list[str], int]:
        clock, gateway = ManualClock(), Gateway()
        breaker = strict_breaker(clock)
        gateway.down = True
        await outcome(breaker, gateway)
        await outcome(breaker, gateway)
        clock.now += 29
        before = breaker.state
        clock.now += 1
        after = breaker.state
        gateway.down = False
        calls_before = gateway.calls
        results = await asyncio.gather(*(outcome(breaker, gateway) for _ in range(4)))
        return before, after, results, gateway.calls - calls_before

    before, after, results, probes = asyncio.run(scenario())
    assert (before, after) == ("open", "half_open"), (
        f"open for the 30 s cooldown, half_open from then on; got {before!r}, {after!r}"
    )
    assert probes == 1 and sorted(results) == ["charged"] + ["rejected"] * 3, (
        "in half_open exactly one probe reaches the gateway; calls arriving while it runs "
        f"are rejected. The gateway saw {probes}, results {results}"
    )


def test_a_successful_probe_closes_and_a_failed_probe_reopens() -> None:
    async def scenario() -> tuple[str, str, str, tuple[str, str]]:
        clock, gateway = ManualClock(), Gateway()
        breaker = strict_breaker(clock)
        gateway.down = True
        await outcome(breaker, gateway)
        await outcome(breaker, gateway)
        clock.now += 30
        failed_probe = await outcome(breaker, gateway)
        state_after_failure = breaker.state
        clock.now += 30
        gateway.down = False
        await outcome(breaker, gateway)
        state_after_success = breaker.state
        gateway.down = True
        one_failure = await outcome(breaker, gateway)
        return failed_probe, state_after_failure, state_after_success, (one_failure, breaker.state)

    failed_probe, after_failure, after_success, last = asyncio.run(scenario())
    assert failed_probe == "failed" and after_failure == "open", (
        f"a failed probe opens the breaker again for a new cooldown; state {after_failure!r}"
    )
    assert after_success == "closed", f"a successful probe closes it; state {after_success!r}"
    assert last == ("failed", "closed"), (
        "closing starts a clean record: one failure after it (below min_calls=2) must not "
        f"reopen the breaker; got (outcome, state) {last!r}"
    )


def test_a_cancelled_call_is_not_a_failure_and_frees_the_probe() -> None:
    async def scenario() -> tuple[str, str]:
        clock, gateway = ManualClock(), Gateway()
        breaker = strict_breaker(clock)
        gateway.down = True
        await outcome(breaker, gateway)
        await outcome(breaker, gateway)
        clock.now += 30

        async def hangs() -> str:
            await asyncio.sleep(10)
            return "never"

        probe = asyncio.create_task(breaker.call(hangs))
        await asyncio.sleep(0.01)
        probe.cancel()
        await asyncio.gather(probe, return_exceptions=True)
        state = breaker.state
        gateway.down = False
        return state, await outcome(breaker, gateway)

    state, next_call = asyncio.run(scenario())
    assert state == "half_open", (
        f"a cancelled probe says nothing about the gateway: stay half_open, got {state!r}"
    )
    assert next_call == "charged", (
        f"the cancelled probe must free the probe slot for the next caller; got {next_call!r}"
    )


def test_retry_sleeps_full_jitter_delays_between_attempts() -> None:
    clock, gateway = ManualClock(), Gateway()
    failures_left = 3

    async def flaky() -> str:
        nonlocal failures_left
        gateway.calls += 1
        if failures_left:
            failures_left -= 1
            raise GatewayDown("503")
        return "charged"

    result = asyncio.run(
        retry_call(
            flaky,
            attempts=5,
            base=0.5,
            cap=1.5,
            rng=random.Random(11),
            retry_on=(GatewayDown,),
            sleep=clock.fake_sleep,
        )
    )
    expected_rng = random.Random(11)
    expected = [expected_rng.uniform(0, ceiling) for ceiling in (0.5, 1.0, 1.5)]
    assert result == "charged" and gateway.calls == 4, (
        f"three failures, then success on the 4th call; got {result!r} after {gateway.calls}"
    )
    assert clock.sleeps == pytest.approx(expected), (
        "before retry n sleep rng.uniform(0, min(cap, base * 2 ** (n - 1))): ceilings 0.5, "
        f"1.0, then capped at 1.5; expected {expected}, slept {clock.sleeps}"
    )


def test_retry_gives_up_after_attempts_and_raises_the_last_error() -> None:
    clock, gateway = ManualClock(), Gateway()
    gateway.down = True
    with pytest.raises(GatewayDown):
        asyncio.run(
            retry_call(
                gateway.charge,
                attempts=3,
                base=0.1,
                cap=5,
                rng=random.Random(1),
                retry_on=(GatewayDown,),
                sleep=clock.fake_sleep,
            )
        )
    assert gateway.calls == 3, f"attempts=3 means 3 calls in all, not {gateway.calls}"
    assert len(clock.sleeps) == 2, (
        f"sleep only between attempts, never after the last one; slept {len(clock.sleeps)} times"
    )


def test_retry_does_not_retry_other_errors() -> None:
    clock = ManualClock()
    calls = 0

    async def declined() -> str:
        nonlocal calls
        calls += 1
        raise PermissionError("card declined")

    with pytest.raises(PermissionError):
        asyncio.run(
            retry_call(
                declined,
                attempts=5,
                base=0.1,
                cap=5,
                rng=random.Random(1),
                retry_on=(GatewayDown, CircuitOpenError),
                sleep=clock.fake_sleep,
            )
        )
    assert (calls, clock.sleeps) == (1, []), (
        f"an error outside retry_on propagates at once: 1 call, no sleep; got {calls} call(s), "
        f"sleeps {clock.sleeps}"
    )
