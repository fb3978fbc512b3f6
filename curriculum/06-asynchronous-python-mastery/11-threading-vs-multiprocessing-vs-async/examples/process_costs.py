"""What a process pool charges before it computes anything.

1. Start-up: a pool of two workers with each start method (fork, forkserver, spawn).
2. Shipping data: totalling 20,000 invoices in this process or in a worker.
3. Granularity: 1,000 one-line tasks, one per message or in chunks.
4. What cannot cross a process boundary: a lambda.
"""

import logging
import multiprocessing
import os
import pickle
import random
import re
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from decimal import Decimal
from typing import TypeVar

log = logging.getLogger("process-costs")
Batch = TypeVar("Batch")

Invoice = tuple[str, str, Decimal]  # (invoice number, tenant, amount)


def make_invoices(count: int) -> list[Invoice]:
    rng = random.Random(11)
    return [
        (f"INV-{n:06d}", f"tenant-{rng.randrange(40)}", Decimal(rng.randrange(100, 90_000)) / 100)
        for n in range(count)
    ]


def worker_rss_mib() -> float:
    """Peak resident memory of the calling worker (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def total_of(invoices: list[Invoice]) -> Decimal:
    return sum((amount for _, _, amount in invoices), Decimal(0))


def total_cents_of(invoices: list[tuple[str, str, int]]) -> int:
    return sum(cents for _, _, cents in invoices)


def vat_for(amount: Decimal) -> Decimal:
    return (amount * Decimal("0.2")).quantize(Decimal("0.01"))


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def start_methods() -> None:
    print("1. A pool of 2 workers: start, first result, shut down")
    print(f"   {'method':<12}{'first result':>14}{'with shutdown':>15}{'worker RSS':>13}")
    # forkserver twice: the first pool also starts the fork server, which later pools reuse.
    for method, label in [
        ("fork", "fork"),
        ("forkserver", "forkserver"),
        ("forkserver", "  again"),
        ("spawn", "spawn"),
    ]:
        context = multiprocessing.get_context(method)
        started = time.perf_counter()
        with ProcessPoolExecutor(2, mp_context=context) as pool:
            rss = pool.submit(worker_rss_mib).result()
            first = ms_since(started)
        total = ms_since(started)
        print(f"   {label:<12}{first:>11.1f} ms{total:>12.1f} ms{rss:>9.1f} MiB")


def ship(
    pool: ProcessPoolExecutor, label: str, total: Callable[[Batch], object], batch: Batch
) -> None:
    size_kib = len(pickle.dumps(batch)) // 1024
    started = time.perf_counter()
    here = total(batch)
    here_ms = ms_since(started)
    started = time.perf_counter()
    there = pool.submit(total, batch).result()
    worker_ms = ms_since(started)
    started = time.perf_counter()
    pickle.loads(pickle.dumps(batch))  # the round trip the argument made, done once here
    pickling_ms = ms_since(started)
    check = "" if here == there else "   MISMATCH"
    print(
        f"   {label:<12}{size_kib:>6} KiB{here_ms:>9.1f} ms{worker_ms:>10.1f} ms"
        f"{pickling_ms:>9.1f} ms{check}"
    )


def shipping_data(pool: ProcessPoolExecutor) -> None:
    invoices = make_invoices(20_000)
    in_cents = [(number, tenant, int(amount * 100)) for number, tenant, amount in invoices]
    print("\n2. Totalling 20,000 invoices here or in a warm worker process")
    print(f"   {'amounts as':<12}{'pickled':>10}{'here':>12}{'in worker':>13}{'pickling':>12}")
    ship(pool, "Decimal", total_of, invoices)
    ship(pool, "int cents", total_cents_of, in_cents)


def granularity(pool: ProcessPoolExecutor) -> None:
    amounts = [amount for _, _, amount in make_invoices(1_000)]
    print("\n3. VAT for 1,000 invoices, one line of work each")
    started = time.perf_counter()
    inline = [vat_for(amount) for amount in amounts]
    print(f"   {'in this process':<34}{ms_since(started):>8.1f} ms")
    for chunksize in (1, 500):
        started = time.perf_counter()
        results = list(pool.map(vat_for, amounts, chunksize=chunksize))
        label = f"pool.map, chunksize={chunksize}"
        same = "same results" if results == inline else "DIFFERENT results"
        print(f"   {label:<34}{ms_since(started):>8.1f} ms   {same}")


def not_picklable(pool: ProcessPoolExecutor) -> None:
    print("\n4. Submitting a lambda")
    future = pool.submit(lambda amount: amount * 2, Decimal("10.00"))
    try:
        future.result(timeout=10)
    except (pickle.PicklingError, AttributeError) as exc:
        message = re.sub(r"0x[0-9a-f]+", "0x...", str(exc))
        print(f"   {type(exc).__name__}: {message}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s %(levelname)s %(message)s")
    print(f"default start method here: {multiprocessing.get_start_method()}\n")
    try:
        start_methods()
        with ProcessPoolExecutor(2) as pool:
            pool.submit(os.getpid).result()  # warm: workers started before we time anything
            shipping_data(pool)
            granularity(pool)
            not_picklable(pool)
            still = pool.submit(vat_for, Decimal(5)).result()
            print(f"   the pool still works afterwards: {still}")
    except BrokenProcessPool:
        log.exception("a worker process died; the pool cannot be used any more")
        raise


if __name__ == "__main__":
    main()
