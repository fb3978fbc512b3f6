import asyncio
import time
from collections.abc import Iterator

import pytest
from invoice_batch import Outcome, first_healthy, render_batch


def leftover_tasks() -> set[asyncio.Task[object]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


class Renderer:
    """A fake PDF renderer that records how many renders run at once."""

    def __init__(self, delay: float = 0.005, failing: frozenset[int] = frozenset()) -> None:
        self.delay = delay
        self.failing = failing
        self.in_flight = 0
        self.peak = 0
        self.started = 0
        self.finished = 0
        self.cancelled = 0

    async def __call__(self, invoice_id: int) -> str:
        self.started += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            if invoice_id in self.failing:
                raise ValueError(f"no template for invoice {invoice_id}")
            return f"INV-{invoice_id}.pdf"
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
            self.finished += 1


def test_outcomes_follow_the_input_order_even_when_renders_finish_out_of_order() -> None:
    async def render(invoice_id: int) -> str:
        await asyncio.sleep((10 - invoice_id) * 0.003)  # later invoices finish first
        return f"INV-{invoice_id}.pdf"

    outcomes = asyncio.run(render_batch(range(10), render, workers=10, queue_size=5))
    assert outcomes == [Outcome(n, pdf=f"INV-{n}.pdf") for n in range(10)], (
        "outcomes must be in the order of invoice_ids; remember each item's position "
        "when you put it on the queue"
    )


def test_no_more_than_workers_renders_run_at_once_and_the_pool_is_used() -> None:
    renderer = Renderer()
    outcomes = asyncio.run(render_batch(range(30), renderer, workers=4, queue_size=8))
    assert len(outcomes) == 30
    assert renderer.peak <= 4, f"{renderer.peak} renders ran at once with workers=4"
    assert renderer.peak == 4, (
        f"only {renderer.peak} render(s) ran at once with workers=4 and 30 invoices: "
        "are the workers running concurrently, as tasks?"
    )


def test_a_failing_render_is_recorded_and_the_batch_goes_on() -> None:
    renderer = Renderer(failing=frozenset({3, 7}))
    outcomes = asyncio.run(render_batch(range(10), renderer, workers=3, queue_size=2))
    assert outcomes[3] == Outcome(3, error="ValueError: no template for invoice 3"), (
        "a failed render becomes Outcome(invoice_id, error='ExceptionType: message')"
    )
    assert outcomes[7].error == "ValueError: no template for invoice 7"
    assert [o.pdf for o in outcomes if o.invoice_id not in {3, 7}] == [
        f"INV-{n}.pdf" for n in (0, 1, 2, 4, 5, 6, 8, 9)
    ], "one failed invoice must not stop the others"


def test_invoice_ids_are_read_only_as_fast_as_the_queue_drains() -> None:
    pulled = 0
    renderer = Renderer()
    ahead: list[int] = []

    def invoice_stream() -> Iterator[int]:
        nonlocal pulled
        for invoice_id in range(40):
            pulled += 1
            ahead.append(pulled - renderer.finished)
            yield invoice_id

    outcomes = asyncio.run(render_batch(invoice_stream(), renderer, workers=2, queue_size=3))
    assert len(outcomes) == 40
    # queued (3) + being rendered (2) + the one the producer holds while put() waits (1)
    assert max(ahead) <= 2 + 3 + 1, (
        f"the producer ran {max(ahead)} invoices ahead of the finished renders; with "
        "workers=2 and queue_size=3 it can be at most 6 ahead. Feed the queue with "
        "await queue.put() as you read invoice_ids, instead of reading them all first"
    )


def test_an_empty_batch_returns_an_empty_list() -> None:
    async def render(invoice_id: int) -> str:
        raise AssertionError("render must not be called for an empty batch")

    assert asyncio.run(render_batch([], render, workers=3, queue_size=3)) == []


def test_no_worker_task_is_left_running_after_the_batch_returns() -> None:
    async def scenario() -> set[asyncio.Task[object]]:
        await render_batch(range(5), Renderer(), workers=3, queue_size=2)
        return leftover_tasks()

    leftovers = asyncio.run(scenario())
    assert not leftovers, (
        f"{len(leftovers)} task(s) still running after render_batch returned: idle workers "
        "blocked in queue.get() must be cancelled (and awaited) once queue.join() returns"
    )


def test_cancelling_the_batch_cancels_the_renders_in_flight() -> None:
    renderer = Renderer(delay=5)

    async def scenario() -> set[asyncio.Task[object]]:
        batch = asyncio.create_task(render_batch(range(10), renderer, workers=3, queue_size=2))
        await asyncio.sleep(0.05)
        batch.cancel()
        with pytest.raises(asyncio.CancelledError):
            await batch
        return leftover_tasks()

    leftovers = asyncio.run(scenario())
    assert renderer.cancelled == 3, (
        f"{renderer.cancelled} of the 3 running renders were cancelled with the batch; "
        "a TaskGroup, or a finally block that cancels the workers, does this"
    )
    assert not leftovers, "no task of the batch may outlive its cancellation"


def test_invalid_pool_settings_raise_value_error() -> None:
    async def render(invoice_id: int) -> str:
        return "unused"

    with pytest.raises(ValueError):
        asyncio.run(render_batch([1], render, workers=0, queue_size=1))
    with pytest.raises(ValueError):
        asyncio.run(render_batch([1], render, workers=1, queue_size=0))


class Replicas:
    """Fake health probes: replica name -> (seconds until it answers, answer or exception)."""

    def __init__(self, answers: dict[str, tuple[float, bool | Exception]]) -> None:
        self.answers = answers
        self.cancelled: list[str] = []

    async def probe(self, replica: str) -> bool:
        delay, answer = self.answers[replica]
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            self.cancelled.append(replica)
            raise
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_first_healthy_returns_the_replica_that_answers_yes_first() -> None:
    replicas = Replicas({"pdf-a": (0.15, True), "pdf-b": (0.02, True), "pdf-c": (0.3, True)})
    chosen = asyncio.run(first_healthy(list(replicas.answers), replicas.probe, timeout=2))
    assert chosen == "pdf-b", "pdf-b answered True first; the list order does not matter"


def test_failing_and_unhealthy_replicas_are_skipped() -> None:
    replicas = Replicas(
        {
            "pdf-a": (0.01, ConnectionResetError("reset by peer")),
            "pdf-b": (0.03, False),
            "pdf-c": (0.08, True),
            "pdf-d": (0.5, True),
        }
    )
    chosen = asyncio.run(first_healthy(list(replicas.answers), replicas.probe, timeout=2))
    assert chosen == "pdf-c", (
        "a probe that raises or answers False must not end the search: keep calling "
        "asyncio.wait() on the pending probes"
    )


def test_probes_still_running_are_cancelled_before_it_returns() -> None:
    replicas = Replicas({"pdf-a": (0.02, True), "pdf-b": (5, True), "pdf-c": (5, True)})

    async def scenario() -> tuple[str | None, set[asyncio.Task[object]]]:
        chosen = await first_healthy(list(replicas.answers), replicas.probe, timeout=2)
        return chosen, leftover_tasks()

    chosen, leftovers = asyncio.run(scenario())
    assert chosen == "pdf-a"
    assert sorted(replicas.cancelled) == ["pdf-b", "pdf-c"], (
        "asyncio.wait() cancels nothing: cancel() the pending probes, then await them so "
        "their cancellation has actually happened when first_healthy returns"
    )
    assert not leftovers, "no probe task may still be running after first_healthy returns"


def test_none_when_no_replica_answers_yes_before_the_timeout() -> None:
    replicas = Replicas({"pdf-a": (0.01, False), "pdf-b": (5, True)})
    started = time.perf_counter()
    chosen = asyncio.run(first_healthy(list(replicas.answers), replicas.probe, timeout=0.1))
    elapsed = time.perf_counter() - started
    assert chosen is None, "no replica said yes within 0.1 s"
    assert elapsed < 2, f"first_healthy took {elapsed:.1f} s; the timeout was 0.1 s"
    assert replicas.cancelled == ["pdf-b"], "the slow probe must be cancelled at the timeout"


def test_none_as_soon_as_every_probe_has_answered_no() -> None:
    replicas = Replicas({"pdf-a": (0.01, False), "pdf-b": (0.02, TimeoutError("probe timed out"))})
    started = time.perf_counter()
    chosen = asyncio.run(first_healthy(list(replicas.answers), replicas.probe, timeout=5))
    elapsed = time.perf_counter() - started
    assert chosen is None
    assert elapsed < 2, (
        f"first_healthy waited {elapsed:.1f} s although every probe had answered after "
        "0.02 s: stop when nothing is pending, do not sit out the timeout"
    )


def test_an_empty_replica_list_returns_none() -> None:
    async def probe(replica: str) -> bool:
        raise AssertionError("nothing to probe")

    assert asyncio.run(first_healthy([], probe, timeout=1)) is None, (
        "asyncio.wait() raises ValueError for an empty set; check for no replicas first"
    )
