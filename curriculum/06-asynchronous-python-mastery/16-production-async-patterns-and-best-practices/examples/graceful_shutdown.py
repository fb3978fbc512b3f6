"""An order worker stopped by a real signal: killed, drained, and drained then abandoned.

The same file plays two roles. Run plainly, it is the *parent*: it resets the s6_16_orders
table, starts the worker half as a child process (`python graceful_shutdown.py --worker MODE`),
echoes the child's log, and sends the child a signal once three orders are in flight. It then
shows what the signal left in PostgreSQL. The *worker* claims orders with
`FOR UPDATE SKIP LOCKED`, one per worker and three workers, and "books a courier" for each (a
sleep of the order's `work_ms`). Three runs:

1. naive:    no signal handlers; SIGTERM kills the process mid-order.
2. graceful: loop.add_signal_handler(SIGTERM) drains in-flight orders for up to GRACE seconds,
             hands back the one that cannot finish, closes the pool and exits 143.
3. graceful, SIGINT twice: the second signal abandons the drain; everything in flight is
             handed back at once, and the exit code is 130.
"""

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from typing import Any

import asyncpg

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = POSTGRES_URL.replace("postgresql+psycopg://", "postgresql://")
TABLE = "s6_16_orders"
WORKERS = 3
GRACE = 1.2  # seconds in-flight orders get after the first signal
CLOSE_BUDGET = 2.0  # seconds pool.close() gets before we terminate the connections
POLL = 0.2  # seconds an idle worker waits before it looks for new orders again
# ORD-1001 finishes inside the grace period, ORD-1002 too, ORD-1003 (20 s) cannot.
ORDERS = [("ORD-1001", 500), ("ORD-1002", 800), ("ORD-1003", 20_000)] + [
    (f"ORD-{n}", 300) for n in range(1004, 1008)
]

log = logging.getLogger("orders")


class OrderWorker:
    """WORKERS loops that claim one order each, book it, and stop between orders on request."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.stopping = asyncio.Event()  # set by the first signal: claim nothing new
        self.abandon = asyncio.Event()  # set by the second signal: stop draining
        self.signals: list[int] = []
        self.claim_lock = asyncio.Lock()  # one claim at a time, in worker order
        self.busy = 0

    def on_signal(self, signum: int) -> None:
        """Runs as a plain callback on the loop (add_signal_handler), never inside a task."""
        self.signals.append(signum)
        name = signal.Signals(signum).name
        if len(self.signals) == 1:
            log.info(
                "%s received: claiming nothing new, draining %d in-flight orders (grace %.1f s)",
                name,
                self.busy,
                GRACE,
            )
            self.stopping.set()
        else:
            log.info("second signal (%s): abandoning the drain", name)
            self.abandon.set()

    async def claim(self) -> tuple[str, int] | None:
        row = await self.pool.fetchrow(
            f"""UPDATE {TABLE} SET state = 'processing'
                WHERE id = (SELECT id FROM {TABLE} WHERE state = 'pending' ORDER BY id
                            FOR UPDATE SKIP LOCKED LIMIT 1)
                RETURNING id, work_ms"""
        )
        return None if row is None else (row["id"], row["work_ms"])

    async def release(self, order_id: str) -> None:
        await self.pool.execute(f"UPDATE {TABLE} SET state = 'pending' WHERE id = $1", order_id)

    async def run_worker(self, number: int) -> None:
        while not self.stopping.is_set():
            async with self.claim_lock:
                order = await self.claim()
            if order is None:
                # idle: wait for new orders, but wake up at once on shutdown
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), POLL)
                continue
            order_id, work_ms = order
            if self.stopping.is_set():  # the signal came while we were claiming
                await self.release(order_id)
                break
            self.busy += 1
            log.info(
                "worker-%d claimed %s (%d ms of work; %d in flight)",
                number,
                order_id,
                work_ms,
                self.busy,
            )
            try:
                await asyncio.sleep(work_ms / 1000)  # the courier booking call
                await self.pool.execute(
                    f"UPDATE {TABLE} SET state = 'done' WHERE id = $1", order_id
                )
                log.info("worker-%d finished %s", number, order_id)
            except asyncio.CancelledError:
                log.info("worker-%d interrupted: handing %s back", number, order_id)
                await self.release(order_id)
                raise
            finally:
                self.busy -= 1
        log.info("worker-%d stops: shutdown requested", number)

    async def drain(self, workers: list["asyncio.Task[None]"]) -> None:
        """Give running orders GRACE seconds (less if a second signal comes), then cancel."""
        finished = asyncio.gather(*workers, return_exceptions=True)
        abandoned = asyncio.create_task(self.abandon.wait())
        waiters: set[asyncio.Future[Any]] = {finished, abandoned}
        await asyncio.wait(waiters, timeout=GRACE, return_when=asyncio.FIRST_COMPLETED)
        abandoned.cancel()
        late = [task for task in workers if not task.done()]
        if late and not self.abandon.is_set():
            log.info("grace period over: cancelling %d worker(s)", len(late))
        for task in late:
            task.cancel()
        await finished  # the cancelled workers run their except blocks (release) here


async def serve(graceful: bool) -> int:
    pool = await asyncpg.create_pool(DSN, min_size=1, max_size=WORKERS + 1)
    worker = OrderWorker(pool)
    loop = asyncio.get_running_loop()
    if graceful:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, worker.on_signal, signum)
    log.info("ready: %d workers, handlers %s", WORKERS, "installed" if graceful else "NONE")
    workers = [
        asyncio.create_task(worker.run_worker(n), name=f"worker-{n}") for n in range(1, WORKERS + 1)
    ]
    try:
        await worker.stopping.wait()
        await worker.drain(workers)
    finally:
        try:
            await asyncio.wait_for(pool.close(), CLOSE_BUDGET)
            log.info("pool closed")
        except TimeoutError:  # close() waits for every acquired connection to come back
            pool.terminate()
            log.warning("pool.close() exceeded %.1f s: connections terminated", CLOSE_BUDGET)
    return 128 + worker.signals[0]


def worker_main(mode: str) -> None:
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="  worker | %(message)s")
    sys.exit(asyncio.run(serve(graceful=mode == "graceful")))


# The parent ------------------------------------------------------------------------------


async def reset_orders() -> None:
    conn = await asyncpg.connect(DSN)
    try:
        await conn.execute(f"DROP TABLE IF EXISTS {TABLE}")
        await conn.execute(
            f"CREATE TABLE {TABLE} (id text PRIMARY KEY, work_ms integer NOT NULL,"
            " state text NOT NULL DEFAULT 'pending')"
        )
        await conn.executemany(f"INSERT INTO {TABLE} (id, work_ms) VALUES ($1, $2)", ORDERS)
    finally:
        await conn.close()


async def order_states(drop: bool = False) -> str:
    conn = await asyncpg.connect(DSN)
    try:
        rows = await conn.fetch(f"SELECT id, state FROM {TABLE} ORDER BY id")
        if drop:
            await conn.execute(f"DROP TABLE {TABLE}")
    finally:
        await conn.close()
    parts = []
    for state in ("done", "processing", "pending"):
        ids = [r["id"] for r in rows if r["state"] == state]
        parts.append(f"{state}: {' '.join(ids) if ids else '-'}")
    return " | ".join(parts)


def run_scenario(title: str, mode: str, signals: list[signal.Signals], last: bool) -> None:
    print(f"=== {title}")
    asyncio.run(reset_orders())
    child = subprocess.Popen(
        [sys.executable, __file__, "--worker", mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert child.stdout is not None
    sent_at = 0.0
    to_send = list(signals)
    for line in child.stdout:
        print(line, end="")
        # The first signal once three orders are in flight; a second one once draining starts.
        trigger = "3 in flight" if len(to_send) == len(signals) else "draining"
        if to_send and trigger in line:
            signum = to_send.pop(0)
            print(f"  parent | sending {signum.name}")
            sent_at = sent_at or time.monotonic()
            child.send_signal(signum)
    code = child.wait(timeout=10)
    elapsed = time.monotonic() - sent_at
    print(f"  parent | exit code {code}, {elapsed:.2f} s after the first signal")
    print(f"  parent | orders: {asyncio.run(order_states(drop=last))}")


def main() -> None:
    run_scenario("1. no handlers, SIGTERM", "naive", [signal.SIGTERM], last=False)
    run_scenario("2. add_signal_handler, SIGTERM", "graceful", [signal.SIGTERM], last=False)
    run_scenario(
        "3. add_signal_handler, SIGINT twice", "graceful", [signal.SIGINT, signal.SIGINT], last=True
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2])
    else:
        main()
