"""Profiling an async report builder: what cProfile shows, and what a sampler shows.

Four tenants' monthly reports are built concurrently. Each report awaits 25 invoice fetches
(database latency, simulated with sleeps from a fixed seed) and then renders every invoice line
in pure Python. cProfile measures the CPU spent in each function, and counts every resumption of
a coroutine as a call. A sampling thread looks at the loop thread's stack every millisecond, the
way py-spy does from outside the process, and splits wall time into "waiting for I/O" and
"running code".
"""

import asyncio
import collections
import cProfile
import json
import os
import pstats
import random
import sys
import threading
import time
from decimal import Decimal
from types import FrameType

HERE = os.path.basename(__file__)
rng = random.Random(1406)
LATENCIES = {(t, n): rng.uniform(0.02, 0.06) for t in range(4) for n in range(25)}


async def fetch_invoice(tenant: int, number: int) -> dict[str, object]:
    await asyncio.sleep(LATENCIES[tenant, number])  # a SELECT through an async driver
    return {"number": f"INV-{tenant}-{number:03d}", "lines": 40, "unit": "12.40"}


def render_invoice(invoice: dict[str, object]) -> str:
    """Pure-Python CPU work: tax math with Decimal and string building, per invoice line."""
    unit = Decimal(str(invoice["unit"]))
    rows = []
    for line in range(int(str(invoice["lines"])) * 30):
        net = unit * (line % 7 + 1)
        rows.append(f"{line:05d} {net:>10} {net * Decimal('0.2'):>10.2f}")
    return "\n".join(rows)


async def build_report(tenant: int) -> int:
    invoices = await asyncio.gather(*(fetch_invoice(tenant, n) for n in range(25)))
    rendered = [render_invoice(invoice) for invoice in invoices]
    return len(json.dumps(rendered))


async def build_all_reports() -> list[int]:
    return list(await asyncio.gather(*(build_report(tenant) for tenant in range(4))))


def profile_with_cprofile() -> float:
    print("1. cProfile: CPU per function; every resumption of a coroutine counts as a call")
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    asyncio.run(build_all_reports())
    profiler.disable()
    wall = time.perf_counter() - started
    functions = pstats.Stats(profiler).get_stats_profile().func_profiles  # 3.9+
    print(f"   wall time {wall * 1000:.0f} ms")
    print(f"   {'function':<30}{'ncalls':>9}{'tottime':>11}{'cumtime':>11}")
    shown = [
        "build_all_reports",
        "build_report",
        "fetch_invoice",
        "render_invoice",
        "sleep",
        "<method 'poll' of 'select.epoll' objects>",
    ]
    for name in shown:
        entry = functions[name]
        print(
            f"   {name[:29]:<30}{entry.ncalls:>9}{entry.tottime * 1000:>8.0f} ms"
            f"{entry.cumtime * 1000:>8.0f} ms"
        )
    return wall


class LoopSampler:
    """Samples one thread's Python stack every `interval` seconds, like py-spy does from outside."""

    def __init__(self, thread_id: int, interval: float = 0.001) -> None:
        self.thread_id, self.interval = thread_id, interval
        self.seconds: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.stop = threading.Event()

    def classify(self, frame: FrameType | None) -> str:
        innermost_ours = None
        while frame is not None:
            if frame.f_code.co_name == "select" and frame.f_code.co_filename.endswith(
                "selectors.py"
            ):
                return "idle: waiting in the selector"
            if innermost_ours is None and os.path.basename(frame.f_code.co_filename) == HERE:
                innermost_ours = frame.f_code.co_name
            frame = frame.f_back
        return f"running {innermost_ours}" if innermost_ours else "running asyncio internals"

    def run(self) -> None:
        last = time.perf_counter()
        while not self.stop.is_set():
            time.sleep(self.interval)
            state = self.classify(sys._current_frames().get(self.thread_id))
            # A CPU-bound loop thread holds the GIL, so this thread gets to sample it only at
            # switch points (every 5 ms), not every 1 ms: weight each sample by the time since
            # the previous one, or busy periods are undercounted. py-spy reads the stack from
            # outside the process and has no such bias.
            now = time.perf_counter()
            self.seconds[state] += now - last
            last = now


def profile_with_sampler() -> None:
    print("2. sampling the loop thread's stack: where the wall time goes")
    sampler = LoopSampler(threading.get_ident())
    thread = threading.Thread(target=sampler.run, name="sampler", daemon=True)
    thread.start()
    asyncio.run(build_all_reports())
    sampler.stop.set()
    thread.join()
    total = sum(sampler.seconds.values())
    for label in (
        "idle: waiting in the selector",
        "running render_invoice",
        "running build_report",
    ):
        share = 100 * sampler.seconds[label] / total
        print(f"   {label:<32} {share:5.1f} % of {total * 1000:.0f} ms")
    busiest = max(sampler.seconds, key=lambda label: sampler.seconds[label])
    print(f"   the biggest share: {busiest}")


if __name__ == "__main__":
    profile_with_cprofile()
    profile_with_sampler()
