"""The month-end batch of an invoicing service, built from asyncio's built-ins.

`render_batch` renders a stream of invoices with a fixed pool of worker tasks fed through a
bounded asyncio.Queue. `first_healthy` picks the PDF renderer replica to send the batch to:
the first one whose health probe answers yes.
"""

import asyncio  # noqa: F401  (you will need it)
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
    # TODO: validate workers and queue_size.
    # TODO: an asyncio.Queue(maxsize=queue_size) of (position, invoice_id) pairs.
    # TODO: `workers` worker tasks: get(), render, record an Outcome, task_done() always.
    # TODO: put() every invoice as you read it, join() the queue, then stop the idle workers,
    #       so that no task is left running, not even when the batch itself is cancelled.
    raise NotImplementedError


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
    # TODO: one task per replica; asyncio.wait(..., return_when=FIRST_COMPLETED) in a loop
    #       under one deadline; a healthy answer wins, anything else means keep waiting.
    # TODO: cancel and await whatever is still pending before you return.
    raise NotImplementedError
