"""The month-end batch of an invoicing service, built from asyncio's built-ins.

`render_batch` renders a stream of invoices with a fixed pool of worker tasks fed through a
bounded asyncio.Queue. `first_healthy` picks the PDF renderer replica to send the batch to:
the first one whose health probe answers yes.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("invoice_batch")


@dataclass(frozen=True)
class Outcome:
    """What happened to one invoice: the rendered PDF's name, or the error that stopped it."""

    invoice_id: int
    pdf: str | None = None
    error: str | None = None


async def render_batch(
    invoice_ids: Iterable[int],
    render: Callable[[int], Awaitable[str]],
    *,
    workers: int,
    queue_size: int,
) -> list[Outcome]:
    """Render every invoice with `workers` tasks that share an asyncio.Queue(maxsize=queue_size).

    - Outcomes come back in the order of `invoice_ids`, whatever order the renders finish in.
    - At most `workers` renders run at once, and `invoice_ids` is read only as fast as the
      queue drains: it may be a generator over millions of rows.
    - A render that raises becomes Outcome(invoice_id, error="ExceptionType: message"); the
      batch goes on.
    - When it returns, or when it is cancelled, no task it started is still running.
    - ValueError if workers < 1 or queue_size < 1.
    """
    if workers < 1 or queue_size < 1:
        raise ValueError(f"workers and queue_size must be >= 1, got {workers} and {queue_size}")
    queue: asyncio.Queue[tuple[int, int]] = asyncio.Queue(maxsize=queue_size)
    outcomes: dict[int, Outcome] = {}

    async def worker() -> None:
        while True:
            position, invoice_id = await queue.get()
            try:
                outcomes[position] = Outcome(invoice_id, pdf=await render(invoice_id))
            except Exception as error:
                log.warning("invoice %s failed: %r", invoice_id, error)
                outcomes[position] = Outcome(invoice_id, error=f"{type(error).__name__}: {error}")
            finally:
                queue.task_done()

    async with asyncio.TaskGroup() as group:
        pool = [group.create_task(worker()) for _ in range(workers)]
        for position, invoice_id in enumerate(invoice_ids):
            await queue.put((position, invoice_id))
        await queue.join()
        for task in pool:
            task.cancel()
    return [outcomes[position] for position in sorted(outcomes)]


async def first_healthy(
    replicas: Sequence[str],
    probe: Callable[[str], Coroutine[Any, Any, bool]],
    *,
    timeout: float,
) -> str | None:
    """Probe every replica at once and return the first that answers True.

    - A probe that raises or answers False does not count; keep waiting for the others.
    - Return None when no replica is healthy: all probes answered, or `timeout` seconds
      passed, whichever comes first; also None for an empty list.
    - Before returning, cancel the probes still running and wait until they have ended.
    """
    if not replicas:
        return None
    tasks: dict[asyncio.Task[bool], str] = {
        asyncio.create_task(probe(replica)): replica for replica in replicas
    }
    pending = set(tasks)
    try:
        async with asyncio.timeout(timeout):
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                healthy = [
                    tasks[task]
                    for task in done
                    if task.exception() is None and task.result()  # exception() marks it seen
                ]
                if healthy:
                    return min(healthy, key=replicas.index)
    except TimeoutError:
        log.warning("no healthy replica within %s s", timeout)
    finally:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    return None
