"""A custom event loop: uvloop through asyncio.Runner(loop_factory=...), measured against asyncio.

uvloop replaces the loop (libuv underneath, compiled with Cython), not your code: the same
coroutines run on both loops and must give the same answers. Only speed may differ.
The timings vary from run to run and machine to machine; compare the ratios.
"""

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
ROUNDS = 3


def loop_factories() -> dict[str, LoopFactory]:
    factories: dict[str, LoopFactory] = {"asyncio": asyncio.new_event_loop}
    if sys.platform != "win32":  # uvloop has no Windows build
        factories["uvloop"] = uvloop.new_event_loop
    return factories


async def callbacks(count: int = 30_000) -> int:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[int] = loop.create_future()
    seen = 0

    def tick() -> None:
        nonlocal seen
        seen += 1
        if seen == count:
            done.set_result(seen)

    for _ in range(count):
        loop.call_soon(tick)
    return await done


async def tasks(count: int = 5_000) -> int:
    async def price_check(sku: int) -> int:
        await asyncio.sleep(0)
        return sku % 7

    async with asyncio.TaskGroup() as group:
        checks = [group.create_task(price_check(sku)) for sku in range(count)]
    return sum(check.result() for check in checks)


async def order_status_round_trips(requests: int = 1_000) -> int:
    served = asyncio.Event()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                writer.write(b"shipped " + line)
                await writer.drain()
        finally:
            writer.close()
            served.set()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)  # ephemeral port
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    received = 0
    try:
        for order_id in range(requests):
            writer.write(b"%d\n" % order_id)
            await writer.drain()
            received += len(await reader.readline())
    finally:
        writer.close()
        await writer.wait_closed()
        await served.wait()  # the handler saw EOF and closed its side
        server.close()
        await server.wait_closed()
    return received


WORKLOADS: dict[str, Callable[[], Coroutine[Any, Any, int]]] = {
    "30,000 call_soon callbacks": callbacks,
    "5,000 tasks in a TaskGroup": tasks,
    "1,000 TCP request/replies": order_status_round_trips,
}


async def describe_loop() -> str:
    loop = asyncio.get_running_loop()
    return f"{type(loop).__module__}.{type(loop).__name__}"


def measure(factory: LoopFactory) -> tuple[dict[str, float], dict[str, int]]:
    best: dict[str, float] = {}
    answers: dict[str, int] = {}
    with asyncio.Runner(loop_factory=factory) as runner:
        for name, workload in WORKLOADS.items():
            for _ in range(ROUNDS):
                started = time.perf_counter()
                answers[name] = runner.run(workload())
                elapsed = time.perf_counter() - started
                best[name] = min(best.get(name, elapsed), elapsed)
    return best, answers


def main() -> None:
    factories = loop_factories()
    for label, factory in factories.items():
        with asyncio.Runner(loop_factory=factory) as runner:
            print(f"{label:8} -> {runner.run(describe_loop())}")
    results = {label: measure(factory) for label, factory in factories.items()}
    answers = [answer for _, answer in results.values()]
    print(f"same answers on every loop: {all(a == answers[0] for a in answers)}")
    if "uvloop" not in results:
        return
    header = f"workload (best of {ROUNDS})"
    print(f"{header:28} {'asyncio':>10} {'uvloop':>10} {'speed-up':>9}")
    for name in WORKLOADS:
        stdlib, uv = results["asyncio"][0][name], results["uvloop"][0][name]
        ratio = stdlib / uv
        print(f"{name:28} {stdlib * 1000:7.1f} ms {uv * 1000:7.1f} ms {ratio:8.1f}x")
    print(f"global policy untouched: {type(asyncio.get_event_loop_policy()).__name__}")


if __name__ == "__main__":
    main()
