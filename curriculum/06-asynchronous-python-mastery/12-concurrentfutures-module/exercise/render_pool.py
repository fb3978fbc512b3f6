"""Invoice rendering on a process pool, for a nightly batch and for an asyncio API.

The renderer wraps a native PDF library. Most bad invoices raise an ordinary exception, but an
invoice with a corrupt embedded font makes the library crash the whole worker process, and
with it the pool. Both entry points must keep going when that happens.

An invoice is a plain dict:
    {"number": "INV-1001", "lines": [{"sku": "SKU-1", "qty": 2, "unit_cents": 1250}, ...],
     "font": "dejavu", "delay_s": 0.0}
"font" and "delay_s" are optional.
"""

import asyncio  # noqa: F401  (you will need these)
import multiprocessing
import os
import time
from collections import deque  # noqa: F401
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait  # noqa: F401
from concurrent.futures.process import BrokenProcessPool  # noqa: F401
from typing import Any

Invoice = dict[str, Any]
Rendered = dict[str, Any]


def service_pid() -> int:
    """The pid of the process the service code runs in (the tests compare worker pids to it)."""
    return os.getpid()


def render_invoice(invoice: Invoice) -> Rendered:
    """Render one invoice. Runs in a worker process; given, do not change.

    Returns {"number", "total_cents", "pages", "pid"}. Raises ValueError for an invoice with
    no lines or a line with a quantity below 1. A "corrupt" font kills the worker process
    (outside a pool worker it raises RuntimeError instead, so it cannot kill your service).
    """
    number = invoice["number"]
    if invoice.get("font") == "corrupt":
        if multiprocessing.parent_process() is None:  # not a pool worker: refuse to kill it
            raise RuntimeError(f"{number} would crash this process: render it in a worker")
        os._exit(70)  # the native library segfaults: no exception, the process is gone
    time.sleep(float(invoice.get("delay_s", 0.0)))
    lines = invoice["lines"]
    if not lines:
        raise ValueError(f"{number} has no lines")
    total = 0
    for line in lines:
        if line["qty"] < 1:
            raise ValueError(f"{number}: quantity {line['qty']} for {line['sku']}")
        total += line["qty"] * line["unit_cents"]
    return {
        "number": number,
        "total_cents": total,
        "pages": 1 + len(lines) // 30,
        "pid": os.getpid(),
    }


def describe(error: BaseException) -> str:
    """How an error is reported: "ValueError: INV-7 has no lines"."""
    return f"{type(error).__name__}: {error}"


def render_batch(invoices: list[Invoice], *, workers: int = 2) -> dict[str, Any]:
    """Render a batch on a process pool of `workers` processes.

    At most 2 * workers invoices are in the pool at any moment. Returns
    {"rendered": {number: rendered dict}, "failed": {number: "ValueError: ..."},
    "crashed": sorted numbers of the invoices that kill a worker,
    "retried": sorted numbers of the invoices that were retried alone after a crash}.
    """
    # TODO: ValueError for workers < 1 and for duplicate invoice numbers; an empty batch
    #       returns the four empty sections.
    # TODO: a bounded window: keep at most 2 * workers futures in the pool, remember which
    #       future is which invoice, wait(..., return_when=FIRST_COMPLETED) and refill.
    #       Sort each finished future into rendered or failed (use describe()).
    # TODO: a crash fails every unfinished future with BrokenProcessPool, the culprit's and
    #       its bystanders' alike, and from then on submit() raises it too. Those futures'
    #       invoices are suspects; an invoice whose submit() raised never ran, so it simply
    #       goes to a fresh pool with the rest of the batch.
    # TODO: at the end, retry each suspect alone in a fresh one-worker pool: only the culprit
    #       crashes again. List every suspect in "retried".
    raise NotImplementedError


def render_for_requests(requests: list[list[Invoice]], *, workers: int = 2) -> list[dict[str, Any]]:
    """Serve several API requests concurrently from one asyncio loop and one process pool.

    Each request is a list of invoices. Returns one dict per request, in request order:
    {"invoices": [rendered dicts in the request's order], "error": None}, or
    {"invoices": [], "error": "ValueError: ..."} when any of its invoices fails.
    """
    # TODO: ValueError for workers < 1.
    # TODO: one ProcessPoolExecutor shared by every request, owned by this function (not by
    #       the event loop), and one asyncio.run() that handles all requests concurrently.
    # TODO: a request renders its invoices with loop.run_in_executor(pool, ...), and one
    #       failing invoice turns only its own request into an error.
    raise NotImplementedError
