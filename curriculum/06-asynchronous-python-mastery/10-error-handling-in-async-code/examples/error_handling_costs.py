"""What error handling costs: try blocks, raising, except*, failing TaskGroups, logging tracebacks.

Each figure is the best of several batches, in microseconds per operation. The figures vary with the
machine and its load (CI masks them); the ratios between lines are what to read.
"""

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable


class InvalidAmount(ValueError):
    """An invoice amount that fails validation."""


def report(label: str, microseconds: float) -> None:
    print(f"  {label:<58} {microseconds:9.2f} us")


def best_of(runs: int, repeat: int, work: Callable[[], None]) -> float:
    """Microseconds per call of `work`, best of `runs` batches of `repeat` calls."""
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(repeat):
            work()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1e6


async def best_of_async(
    runs: int, repeat: int, works: dict[str, Callable[[], Awaitable[None]]]
) -> None:
    """Reports microseconds per call of each work, best of `runs` batches.

    The batches of the works alternate, so that a burst of load on a shared machine hits all of
    them alike and the comparison between them survives.
    """
    best = dict.fromkeys(works, float("inf"))
    for _ in range(runs):
        for label, work in works.items():
            start = time.perf_counter()
            for _ in range(repeat):
                await work()
            best[label] = min(best[label], (time.perf_counter() - start) / repeat)
    for label, seconds in best.items():
        report(label, seconds * 1e6)


async def fetch_price() -> int:
    return 42


async def plain_await() -> None:
    await fetch_price()


async def guarded_await() -> None:
    try:  # noqa: SIM105 - the try statement itself is what is measured
        await fetch_price()
    except InvalidAmount:
        pass


def raise_and_except() -> None:
    try:
        raise InvalidAmount("-3.00")
    except InvalidAmount:
        pass


def naked_and_except_star() -> None:
    try:
        raise InvalidAmount("-3.00")
    except* InvalidAmount:
        pass


def make_group_of(size: int) -> Callable[[], None]:
    def raise_group() -> None:
        errors = [InvalidAmount(f"line {n}") if n % 2 else KeyError(n) for n in range(size)]
        try:
            raise ExceptionGroup("import", errors)
        except* InvalidAmount:
            pass
        except* KeyError:
            pass

    return raise_group


async def line_check(fails: bool) -> None:
    await asyncio.sleep(0)
    if fails:
        raise InvalidAmount("-3.00")


def make_task_group(children: int, failing: bool) -> Callable[[], Awaitable[None]]:
    async def run_group() -> None:
        try:
            async with asyncio.TaskGroup() as group:
                for n in range(children):
                    group.create_task(line_check(failing and n == 0))
        except* InvalidAmount:
            pass

    return run_group


def logging_costs() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log = logging.getLogger("costs")
    log.addHandler(handler)
    log.propagate = False
    try:
        raise InvalidAmount("-3.00")
    except InvalidAmount as raised:
        single = raised
    try:
        raise ExceptionGroup("import", [InvalidAmount(f"line {n}") for n in range(10)])
    except ExceptionGroup as raised_group:
        grouped = raised_group
    report("log.error(), no traceback", best_of(5, 1_000, lambda: log.error("rejected")))
    report(
        "log.error(exc_info=one exception)",
        best_of(5, 400, lambda: log.error("rejected", exc_info=single)),
    )
    report(
        "log.error(exc_info=group of 10)",
        best_of(5, 150, lambda: log.error("rejected", exc_info=grouped)),
    )
    for label, logged in (("one exception", single), ("the group of 10", grouped)):
        stream.seek(0)
        stream.truncate()
        log.error("rejected", exc_info=logged)
        lines = stream.getvalue().splitlines()
        print(f"  one record with {label}: {len(lines)} lines")


async def main() -> None:
    print("1. try around an await that does not raise")
    await best_of_async(
        15,
        5_000,
        {"await fetch_price()": plain_await, "try: await fetch_price() except ...": guarded_await},
    )
    print("2. raising and catching")
    report("raise + except InvalidAmount", best_of(5, 10_000, raise_and_except))
    report("raise naked + except* InvalidAmount", best_of(5, 10_000, naked_and_except_star))
    report("raise group of 2 + two except* clauses", best_of(5, 5_000, make_group_of(2)))
    report("raise group of 100 + two except* clauses", best_of(5, 500, make_group_of(100)))
    print("3. a TaskGroup of 10 children, each awaiting once")
    await best_of_async(
        10,
        100,
        {
            "all succeed": make_task_group(10, failing=False),
            "one fails, nine are cancelled": make_task_group(10, failing=True),
        },
    )
    print("4. logging a failure")
    logging_costs()


if __name__ == "__main__":
    asyncio.run(main())
