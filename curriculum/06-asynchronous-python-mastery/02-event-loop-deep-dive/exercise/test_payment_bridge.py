import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from payment_bridge import LoopLagMonitor, OnDone, charge


class CardDeclined(Exception):
    pass


class FakePaymentClient:
    """A callback SDK double: answers on its own thread after `delay` seconds."""

    def __init__(
        self,
        *,
        delay: float = 0.01,
        error: Exception | None = None,
        answers: int = 1,
        inline: bool = False,
    ) -> None:
        self.delay = delay
        self.error = error
        self.answers = answers
        self.inline = inline
        self.cancelled: list[int] = []
        self.issued: list[int] = []
        self.callback_errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []
        self._next_id = 500

    def charge(self, invoice_id: str, amount_cents: int, on_done: OnDone) -> int:
        self._next_id += 1
        request_id = self._next_id
        self.issued.append(request_id)

        def answer() -> None:
            for attempt in range(self.answers):
                reference = None if self.error else f"PAY-{invoice_id}-{amount_cents}-{attempt}"
                try:
                    on_done(reference, self.error)
                except BaseException as error:  # what the SDK thread would die with
                    self.callback_errors.append(error)

        if self.inline:
            answer()
        else:

            def later() -> None:
                time.sleep(self.delay)
                answer()

            thread = threading.Thread(target=later, daemon=True)
            self.threads.append(thread)
            thread.start()
        return request_id

    def cancel(self, request_id: int) -> None:
        self.cancelled.append(request_id)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=5)


def run_recording_loop_errors(
    main: Callable[[], Coroutine[Any, Any, Any]], limit: float = 2.0
) -> tuple[Any, list[str]]:
    """Run main() on a fresh loop and collect whatever reaches its exception handler.

    The deadline keeps a charge() that is never woken up from hanging the test run.
    """
    seen: list[str] = []

    async def wrapper() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(
            lambda _loop, context: seen.append(
                f"{context['message']}: {context.get('exception')!r}"
            )
        )
        async with asyncio.timeout(limit):
            return await main()

    return asyncio.run(wrapper()), seen


def test_charge_returns_the_reference_the_sdk_reports() -> None:
    client = FakePaymentClient()
    reference, _ = run_recording_loop_errors(lambda: charge(client, "INV-1", 1299))
    client.join()
    assert reference == "PAY-INV-1-1299-0", "charge() must return what on_done reported"
    assert client.cancelled == [], "a charge that completed must not be voided"


def test_charge_raises_the_error_the_sdk_reports() -> None:
    client = FakePaymentClient(error=CardDeclined("insufficient funds"))
    with pytest.raises(CardDeclined, match="insufficient funds"):
        run_recording_loop_errors(lambda: charge(client, "INV-2", 500))
    client.join()


def test_an_answer_from_an_sdk_thread_wakes_the_loop_at_once() -> None:
    client = FakePaymentClient(delay=0.02)

    async def main() -> tuple[str, float]:
        started = time.perf_counter()
        reference = await charge(client, "INV-3", 100)
        return reference, time.perf_counter() - started

    # the deadline's timer is the only thing scheduled: nothing else wakes the loop
    (reference, waited), loop_errors = run_recording_loop_errors(main, limit=2.0)
    client.join()
    assert reference == "PAY-INV-3-100-0"
    assert waited < 1.0, (
        f"the answer came 20 ms after the call, but charge() resumed after {waited:.2f} s: "
        "setting the future from the SDK thread does not wake the loop; "
        "use loop.call_soon_threadsafe()"
    )
    assert client.callback_errors == [], (
        f"on_done raised on the SDK thread: {client.callback_errors}"
    )
    assert loop_errors == []


def test_an_sdk_that_answers_inside_charge_still_works() -> None:
    client = FakePaymentClient(inline=True)
    reference, loop_errors = run_recording_loop_errors(lambda: charge(client, "INV-4", 250))
    assert reference == "PAY-INV-4-250-0", (
        "on_done may run before client.charge() returns; the future must exist by then"
    )
    assert client.callback_errors == [] and loop_errors == []


def test_a_second_answer_is_ignored_quietly() -> None:
    client = FakePaymentClient(answers=2)

    async def main() -> str:
        reference = await charge(client, "INV-5", 999)
        await asyncio.sleep(0.1)  # give the duplicate time to arrive
        return reference

    reference, loop_errors = run_recording_loop_errors(main)
    client.join()
    assert reference == "PAY-INV-5-999-0", "the first answer wins"
    assert loop_errors == [], (
        f"a duplicate answer reached the loop's exception handler: {loop_errors}; "
        "check future.done() before setting it"
    )
    assert client.callback_errors == []


def test_cancelling_the_caller_voids_the_charge_and_propagates() -> None:
    client = FakePaymentClient(delay=0.5)

    async def main() -> None:
        async with asyncio.timeout(0.05):
            await charge(client, "INV-6", 4200)

    with pytest.raises(TimeoutError):
        asyncio.run(main())
    client.join()
    assert client.cancelled == client.issued, (
        f"the charge was abandoned, so client.cancel({client.issued[0]}) must be called; "
        f"cancelled={client.cancelled}"
    )


def test_an_answer_after_cancellation_reaches_no_exception_handler() -> None:
    client = FakePaymentClient(delay=0.1)

    async def main() -> None:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.02):
                await charge(client, "INV-7", 300)
        await asyncio.sleep(0.3)  # the SDK answers while the loop still runs

    _, loop_errors = run_recording_loop_errors(main)
    client.join()
    assert loop_errors == [], (
        f"the late answer tried to set a cancelled future: {loop_errors}; "
        "a cancelled future is done, so check done() first"
    )
    assert client.callback_errors == []


def test_concurrent_charges_each_get_their_own_reference() -> None:
    client = FakePaymentClient(delay=0.02)

    async def main() -> list[str]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(charge(client, f"INV-{n}", n)) for n in range(40)]
        return [task.result() for task in tasks]

    references, _ = run_recording_loop_errors(main)
    client.join()
    assert references == [f"PAY-INV-{n}-{n}-0" for n in range(40)], (
        "each charge must await its own future"
    )


def test_monitor_start_outside_a_running_loop_raises_runtime_error() -> None:
    monitor = LoopLagMonitor()
    with pytest.raises(RuntimeError) as raised:
        monitor.start()
    assert not isinstance(raised.value, NotImplementedError), "start() is not written yet"


def test_monitor_samples_periodically_while_running() -> None:
    async def main() -> tuple[int, bool]:
        monitor = LoopLagMonitor(interval=0.02)
        monitor.start()
        await asyncio.sleep(0.25)
        running = monitor.running
        monitor.stop()
        return monitor.samples, running

    samples, running = asyncio.run(main())
    assert running, "running must be True between start() and stop()"
    assert samples >= 3, f"interval=0.02 over 0.25 s should give about 12 samples, got {samples}"


def test_a_blocking_call_shows_up_as_lag_and_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> LoopLagMonitor:
        monitor = LoopLagMonitor(interval=0.02, warn_after=0.05)
        monitor.start()
        await asyncio.sleep(0.01)
        time.sleep(0.15)  # a synchronous call blocks the loop for 150 ms
        await asyncio.sleep(0.05)
        monitor.stop()
        return monitor

    with caplog.at_level(logging.WARNING, logger="payments.loop"):
        monitor = asyncio.run(main())
    assert monitor.max_lag >= 0.1, (
        f"the timer was due 10 ms into a 150 ms block, so it ran at least 0.1 s late; "
        f"max_lag={monitor.max_lag:.3f}. Measure loop.time() against the planned time."
    )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("event loop lag" in r.getMessage() for r in warnings), (
        f"a lag above warn_after must be logged as a warning; logged: "
        f"{[r.getMessage() for r in warnings]}"
    )


def test_stop_cancels_the_pending_sample() -> None:
    async def main() -> tuple[int, int, bool]:
        monitor = LoopLagMonitor(interval=0.01)
        monitor.start()
        await asyncio.sleep(0.05)
        monitor.stop()
        stopped_at = monitor.samples
        await asyncio.sleep(0.1)
        monitor.stop()  # harmless the second time
        return stopped_at, monitor.samples, monitor.running

    stopped_at, later, running = asyncio.run(main())
    assert later == stopped_at, f"{later - stopped_at} sample(s) ran after stop()"
    assert not running, "running must be False after stop()"


def test_starting_a_running_monitor_twice_raises() -> None:
    async def main() -> None:
        monitor = LoopLagMonitor()
        monitor.start()
        try:
            with pytest.raises(RuntimeError, match="already"):
                monitor.start()
        finally:
            monitor.stop()

    asyncio.run(main())
