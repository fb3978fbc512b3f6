"""Where a worker's exception goes, what breaks a pool, and what shutdown() waits for.

The invoicing service renders PDFs in a process pool and exports reports in a thread pool.
Every failure below is one its on-call engineers have met.
"""

import logging
import os
import re
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from concurrent.futures.thread import BrokenThreadPool
from typing import Any


class OneLineFormatter(logging.Formatter):
    """Log records on one line: the exception's last line instead of a full traceback."""

    def formatException(self, ei: Any) -> str:
        text = super().formatException(ei)
        return "    -> " + text.splitlines()[-1]


handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(OneLineFormatter("   log %(levelname)s %(name)s: %(message)s"))
logging.basicConfig(level=logging.INFO, handlers=[handler])
log = logging.getLogger("invoicing")


def render_pdf(invoice: str, lines: int) -> str:
    if lines == 0:
        raise ValueError(f"{invoice} has no lines")
    return f"{invoice}.pdf"


def render_with_font(invoice: str, font: str) -> str:
    if font == "corrupt":
        os._exit(70)  # what a segfault in a native PDF library looks like from outside
    time.sleep(0.3)
    return f"{invoice}.pdf"


def count_rows(connection: sqlite3.Connection) -> int:
    return int(connection.execute("select 1").fetchone()[0])


def stream_lines(invoice: str) -> Iterator[str]:
    yield f"{invoice}: line 1"


def slow_export(name: str, ran: list[str]) -> None:
    time.sleep(0.1)
    ran.append(name)


def remote_exceptions(pool: ProcessPoolExecutor) -> None:
    print("1. an exception raised in a worker process")
    future = pool.submit(render_pdf, "INV-1001", 0)
    error = future.exception()
    assert error is not None
    print(f"   future.exception() -> {error!r}")
    remote = str(error.__cause__)
    frames = re.findall(r"line \d+, in (\w+)", remote)
    print(f"   __cause__ is {type(error.__cause__).__name__}, frames: {frames}")


def pickling_failures(pool: ProcessPoolExecutor) -> None:
    print("2. what cannot be pickled fails in the future, not in submit()")
    with sqlite3.connect(":memory:") as connection:
        future = pool.submit(count_rows, connection)
        error = future.exception()
        print(f"   argument: {type(error).__name__}: {error}")
    generator_future = pool.submit(stream_lines, "INV-1002")
    error = generator_future.exception()
    print(f"   return value: {type(error).__name__}: {error}")


def outcome(future: Future[str]) -> str:
    error = future.exception()
    return type(error).__name__ if error else future.result()


def broken_pool() -> None:
    print("3. a worker that dies breaks the whole pool")
    batch = [(f"INV-200{n}", "dejavu") for n in range(1, 6)] + [("INV-2006", "corrupt")]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(render_with_font, inv, font) for inv, font in batch]
        for (invoice, _), future in zip(batch, futures, strict=True):
            print(f"   {invoice}: {outcome(future)}")
        try:
            pool.submit(render_pdf, "INV-2100", 3)
        except BrokenProcessPool as error:
            print(f"   next submit(): BrokenProcessPool: {error}")
    with ProcessPoolExecutor(max_workers=2) as fresh:
        retried = [fresh.submit(render_with_font, inv, font) for inv, font in batch]
        broken = sum(isinstance(f.exception(), BrokenProcessPool) for f in retried)
        print(f"   the same batch on a fresh pool: {broken} of 6 broken again")


def thread_pool_failures() -> None:
    print("4. failures that thread pools log and swallow")
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(render_pdf, "INV-3001", 2)
        future.result()

        def notify_billing(done: Future[str]) -> None:
            raise ConnectionError("billing webhook unreachable")

        future.add_done_callback(notify_billing)
        print(f"   the failed callback did not touch the result: {future.result()!r}")
        exited = pool.submit(sys.exit, 3)
        print(f"   sys.exit(3) in a worker: future.exception() -> {exited.exception()!r}")

    def connect_to_vault() -> None:
        raise PermissionError("vault token expired")

    pool = ThreadPoolExecutor(max_workers=2, initializer=connect_to_vault)
    future = pool.submit(render_pdf, "INV-3002", 1)
    print(f"   after a failed initializer: {type(future.exception()).__name__}")
    try:
        pool.submit(render_pdf, "INV-3003", 1)
    except BrokenThreadPool as error:
        print(f"   next submit(): BrokenThreadPool: {error}")
    pool.shutdown()


def shutdown_semantics() -> None:
    print("5. what shutdown() waits for")
    ran: list[str] = []
    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            for n in range(5):
                pool.submit(slow_export, f"report-{n}", ran)
            raise RuntimeError("tenant list is stale")
    except RuntimeError as error:
        elapsed = time.perf_counter() - started
        print(
            f"   the block raised {error!r}; exports that still ran: {len(ran)} ({elapsed:.2f} s)"
        )
    ran.clear()
    pool = ThreadPoolExecutor(max_workers=1)
    futures = [pool.submit(slow_export, f"report-{n}", ran) for n in range(5)]
    while not futures[0].running():  # report-0 has started; the other four wait in the queue
        time.sleep(0.005)
    pool.shutdown(wait=True, cancel_futures=True)
    cancelled = sum(f.cancelled() for f in futures)
    print(f"   threads, shutdown(cancel_futures=True): ran {len(ran)}, cancelled {cancelled}")
    processes = ProcessPoolExecutor(max_workers=2)
    jobs = [processes.submit(render_with_font, f"INV-40{n:02}", "dejavu") for n in range(8)]
    time.sleep(0.1)
    processes.shutdown(wait=True, cancel_futures=True)
    cancelled = sum(f.cancelled() for f in jobs)
    print(f"   2 processes, 8 jobs, same call: ran {8 - cancelled}, cancelled {cancelled}")
    # 2 were running and 1-3 more sat in the call queue, where a future can no longer be cancelled


def main() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        remote_exceptions(pool)
        pickling_failures(pool)
    broken_pool()
    thread_pool_failures()
    shutdown_semantics()
    log.info("done; threads still alive: %d", threading.active_count())


if __name__ == "__main__":
    main()
