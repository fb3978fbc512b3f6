"""An invoice audit that waits, computes and calls a blocking SDK, built three ways.

Each of 12 invoices is fetched from a ledger API (a 30 ms wait), scored for fraud risk
(about 20 ms of pure-Python CPU work) and archived through a vendor SDK that only has a
blocking client (time.sleep stands in for its 15 ms network call). A heartbeat task ticks
every 5 ms the whole time; how late it runs is how late any other request on this event
loop would be served.
"""

import asyncio
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor

log = logging.getLogger("invoice-audit")

INVOICES = [f"INV-{n:05d}" for n in range(40_001, 40_013)]
LEDGER_WAIT = 0.030
ARCHIVE_WAIT = 0.015
TICK = 0.005

Scorer = Callable[[str], Awaitable[int]]
Archiver = Callable[[str, int], Awaitable[None]]


async def fetch_invoice(number: str) -> str:
    await asyncio.sleep(LEDGER_WAIT)  # an async HTTP call to the ledger
    return number


def fraud_score(number: str) -> int:
    """Pure-Python CPU work: about 20 ms on an idle core."""
    state = int(number[4:])
    for _ in range(80_000):
        state = (state * 48_271) % 2_147_483_647
    return state % 1000


def archive_blocking(number: str, score: int) -> None:
    time.sleep(ARCHIVE_WAIT)  # the vendor SDK's synchronous upload
    log.debug("archived %s with score %d", number, score)


async def heartbeat(stalls: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        due = time.perf_counter() + TICK
        await asyncio.sleep(TICK)
        stalls.append(max(0.0, time.perf_counter() - due))


async def audit(score: Scorer, archive: Archiver) -> tuple[dict[str, int], float, list[float]]:
    stalls: list[float] = []
    stop = asyncio.Event()
    ticker = asyncio.create_task(heartbeat(stalls, stop))
    await asyncio.sleep(TICK * 2)  # the heartbeat is running before the work starts

    async def one(number: str) -> tuple[str, int]:
        invoice = await fetch_invoice(number)
        risk = await score(invoice)
        await archive(invoice, risk)
        return invoice, risk

    started = time.perf_counter()
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(one(number)) for number in INVOICES]
    finally:
        elapsed = time.perf_counter() - started
        stop.set()
        await ticker
    return dict(task.result() for task in tasks), elapsed, stalls


async def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    loop = asyncio.get_running_loop()

    async def score_inline(number: str) -> int:
        return fraud_score(number)

    async def score_in_thread(number: str) -> int:
        return await asyncio.to_thread(fraud_score, number)

    async def archive_inline(number: str, risk: int) -> None:
        archive_blocking(number, risk)

    async def archive_in_thread(number: str, risk: int) -> None:
        await asyncio.to_thread(archive_blocking, number, risk)

    with ProcessPoolExecutor(max_workers=2) as processes:  # created once, at start-up
        await loop.run_in_executor(processes, fraud_score, "INV-00000")  # warm both paths

        async def score_in_process(number: str) -> int:
            return await loop.run_in_executor(processes, fraud_score, number)

        designs: list[tuple[str, Scorer, Archiver]] = [
            ("everything on the event loop", score_inline, archive_inline),
            ("to_thread for score and archive", score_in_thread, archive_in_thread),
            ("processes for score, thread for SDK", score_in_process, archive_in_thread),
        ]
        print(f"{len(INVOICES)} invoices: 30 ms fetch, ~20 ms CPU score, 15 ms blocking archive")
        print("late = how long after its due time the 5 ms heartbeat actually ran\n")
        print(f"{'design':<37}{'elapsed':>9}{'late p50':>11}{'worst':>11}")
        results = []
        for label, score, archive in designs:
            scores, elapsed, stalls = await audit(score, archive)
            p50, worst = statistics.median(stalls) * 1000, max(stalls) * 1000
            print(f"{label:<37}{elapsed:>7.3f} s{p50:>8.1f} ms{worst:>8.1f} ms")
            results.append(scores)
    print(f"\nevery design produced the same scores: {all(r == results[0] for r in results)}")


if __name__ == "__main__":
    asyncio.run(main())
