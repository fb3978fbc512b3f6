"""Invoice rendering on a process pool, for a nightly batch and for an asyncio API.

The renderer wraps a native PDF library. Most bad invoices raise an ordinary exception, but an
invoice with a corrupt embedded font makes the library crash the whole worker process, and
with it the pool. Both entry points must keep going when that happens.

An invoice is a plain dict:
    {"number": "INV-1001", "lines": [{"sku": "SKU-1", "qty": 2, "unit_cents": 1250}, ...],
     "font": "dejavu", "delay_s": 0.0}
"font" and "delay_s" are optional.
"""

import asyncio
import multiprocessing
import os
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
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
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    numbers = [invoice["number"] for invoice in invoices]
    if len(set(numbers)) != len(numbers):
        raise ValueError("invoice numbers must be unique within a batch")
    report: dict[str, Any] = {"rendered": {}, "failed": {}, "crashed": [], "retried": []}
    pending = deque(invoices)
    suspects: list[Invoice] = []
    while pending:  # one pool per stretch of the batch between two crashes
        with ProcessPoolExecutor(max_workers=workers) as pool:
            in_flight: dict[Future[Rendered], Invoice] = {}
            broken = False
            while in_flight or (pending and not broken):
                while pending and not broken and len(in_flight) < 2 * workers:
                    try:
                        future = pool.submit(render_invoice, pending[0])
                    except BrokenProcessPool:  # the pool broke since the last wait()
                        broken = True  # pending[0] never ran: it goes to the next pool
                    else:
                        in_flight[future] = pending.popleft()
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    invoice = in_flight.pop(future)
                    error = future.exception()
                    if isinstance(error, BrokenProcessPool):
                        suspects.append(invoice)  # the culprit, or a bystander of its crash
                        broken = True
                    elif error is not None:
                        report["failed"][invoice["number"]] = describe(error)
                    else:
                        report["rendered"][invoice["number"]] = future.result()
    for invoice in suspects:  # quarantine: each suspect alone in a fresh one-worker pool
        report["retried"].append(invoice["number"])
        with ProcessPoolExecutor(max_workers=1) as solo:
            retry = solo.submit(render_invoice, invoice)
            error = retry.exception()
            if isinstance(error, BrokenProcessPool):
                report["crashed"].append(invoice["number"])
            elif error is not None:
                report["failed"][invoice["number"]] = describe(error)
            else:
                report["rendered"][invoice["number"]] = retry.result()
    report["crashed"].sort()
    report["retried"].sort()
    return report


def render_for_requests(requests: list[list[Invoice]], *, workers: int = 2) -> list[dict[str, Any]]:
    """Serve several API requests concurrently from one asyncio loop and one process pool.

    Each request is a list of invoices. Returns one dict per request, in request order:
    {"invoices": [rendered dicts in the request's order], "error": None}, or
    {"invoices": [], "error": "ValueError: ..."} when any of its invoices fails.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")

    async def handle(pool: ProcessPoolExecutor, request: list[Invoice]) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        calls = [loop.run_in_executor(pool, render_invoice, invoice) for invoice in request]
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                return {"invoices": [], "error": describe(result)}
        return {"invoices": results, "error": None}

    async def serve(pool: ProcessPoolExecutor) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(handle(pool, request) for request in requests)))

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return asyncio.run(serve(pool))
