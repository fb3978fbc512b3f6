"""Where is every task waiting? Tracing a stuck order service from the inside.

Part 1: two orders stop making progress. A SIGUSR1 handler, registered on the loop, lists every
task with asyncio.all_tasks(), shows how little Task.get_stack() returns for a suspended task,
and follows each coroutine's cr_await chain down to the future it is waiting on.
Part 2: a watchdog cancels the stuck order, which releases the other one.
Part 3: the loop itself is blocked, so the SIGUSR1 handler cannot run until the block ends;
faulthandler, which dumps stacks from a C-level signal handler, still can.
"""

import asyncio
import faulthandler
import hashlib
import io
import logging
import os
import signal
import tempfile
import threading
import time
from types import CoroutineType
from typing import Any

log = logging.getLogger("orders")


class Warehouse:
    """Reserves stock; its reply for ORD-7 is lost, as when a message broker drops a reply."""

    def __init__(self) -> None:
        self.lost_replies = {"ORD-7"}

    async def reserve(self, order_id: str, sku: str) -> str:
        reply: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if order_id not in self.lost_replies:
            asyncio.get_running_loop().call_later(0.01, reply.set_result, f"RES-{order_id}")
        return await reply


async def reserve_stock(warehouse: Warehouse, order_id: str) -> str:
    return await warehouse.reserve(order_id, sku="SKU-4411")


async def handle_order(order_id: str, inventory_lock: asyncio.Lock, warehouse: Warehouse) -> str:
    async with inventory_lock:  # one reservation at a time, to keep stock counts consistent
        return await reserve_stock(warehouse, order_id)


async def flush_metrics() -> None:
    while True:
        await asyncio.sleep(0.05)


# Stack dumps name files by absolute path; the demo strips this folder and the standard
# library's folder, so the output reads the same on every machine.
PATH_PREFIXES = (
    os.path.dirname(os.path.abspath(__file__)) + os.sep,
    os.path.dirname(os.__file__) + os.sep,
)


def short_paths(text: str) -> str:
    for prefix in PATH_PREFIXES:
        text = text.replace(prefix, "")
    return text


def where(frame_owner: Any) -> str:
    """'function (file:line)' for a suspended coroutine."""
    frame = frame_owner.cr_frame
    file_name = os.path.basename(frame.f_code.co_filename)
    return f"{frame_owner.__qualname__} ({file_name}:{frame.f_lineno})"


def await_chain(task: "asyncio.Task[Any]") -> list[str]:
    """Follow cr_await from the task's coroutine down to what it is really waiting on."""
    chain: list[str] = []
    awaited: Any = task.get_coro()
    while isinstance(awaited, CoroutineType):
        chain.append(where(awaited))
        awaited = awaited.cr_await
    if awaited is not None:
        chain.append(type(awaited).__name__)  # a FutureIter: the task waits on a bare Future
    return chain


def dump_tasks(reason: str) -> None:
    print(f"   -- task dump ({reason}) --")
    for task in sorted(asyncio.all_tasks(), key=lambda t: t.get_name()):
        frames = task.get_stack()
        print(
            f"   {task.get_name():<14} get_stack(): {len(frames)} frame(s), "
            f"top = {frames[-1].f_code.co_name if frames else None}"
        )
        print("   " + " " * 14 + " chain: " + " -> ".join(await_chain(task)))


async def part_1_and_2() -> None:
    print("1. two orders stop making progress; SIGUSR1 asks the live process for a task dump")
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, dump_tasks, "SIGUSR1")
    warehouse, inventory_lock = Warehouse(), asyncio.Lock()
    metrics = asyncio.create_task(flush_metrics(), name="metrics-flush")
    orders = {
        order_id: asyncio.create_task(
            handle_order(order_id, inventory_lock, warehouse), name=f"order-{order_id}"
        )
        for order_id in ("ORD-7", "ORD-8")
    }
    done, pending = await asyncio.wait(orders.values(), timeout=0.1)
    print(f"   after 0.1 s: {len(done)} done, {len(pending)} pending")
    os.kill(os.getpid(), signal.SIGUSR1)  # in production: kill -USR1 <pid>
    await asyncio.sleep(0.01)  # the handler runs on the loop, at its next iteration
    print("   the standard format, Task.print_stack(), for order-ORD-8:")
    stack = io.StringIO()
    orders["ORD-8"].print_stack(file=stack)
    print(short_paths(stack.getvalue()), end="")

    print("2. a watchdog cancels the order that has waited too long")
    log.warning("watchdog: cancelling order-ORD-7, no warehouse reply within 0.1 s")
    orders["ORD-7"].cancel()
    results = await asyncio.gather(*orders.values(), return_exceptions=True)
    for (order_id, task), result in zip(orders.items(), results, strict=True):
        print(f"   {order_id}: {'cancelled' if task.cancelled() else result}")
    metrics.cancel()
    loop.remove_signal_handler(signal.SIGUSR1)


def hash_password(password: str) -> bytes:
    """PBKDF2-HMAC-SHA256 with 600,000 iterations: hundreds of milliseconds of CPU."""
    return hashlib.pbkdf2_hmac("sha256", password.encode(), b"tenant-salt", 600_000)


async def login(user: str, hashing: threading.Event) -> None:
    hashing.set()  # lets the demo's "operator" thread know the loop is now busy
    hash_password(f"secret-of-{user}")  # CPU-bound work on the loop's thread


async def part_3() -> None:
    print("3. the loop is blocked: faulthandler answers at once, the loop's handler only later")
    loop = asyncio.get_running_loop()
    answered: list[float] = []
    loop.add_signal_handler(signal.SIGUSR1, lambda: answered.append(time.perf_counter()))
    main_thread = threading.get_ident()
    sent: list[float] = []
    hashing = threading.Event()

    def operator_sends_signals() -> None:
        hashing.wait(timeout=5)
        time.sleep(0.05)
        sent.append(time.perf_counter())
        signal.pthread_kill(main_thread, signal.SIGUSR2)  # faulthandler: dumps right now
        signal.pthread_kill(main_thread, signal.SIGUSR1)  # asyncio: waits for the loop

    with tempfile.TemporaryFile("w+") as dump_file:  # in production: stderr or a log file
        faulthandler.register(signal.SIGUSR2, file=dump_file, all_threads=False)
        operator = threading.Thread(target=operator_sends_signals, name="operator")
        operator.start()
        await asyncio.create_task(login("dana", hashing), name="login-dana")
        await asyncio.sleep(0.01)
        operator.join()
        faulthandler.unregister(signal.SIGUSR2)
        loop.remove_signal_handler(signal.SIGUSR1)
        dump_file.seek(0)
        print(short_paths(dump_file.read()), end="")
    late_ms = (answered[0] - sent[0]) * 1000
    print(f"   the loop's SIGUSR1 handler ran {late_ms:.0f} ms after the signal")


async def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    await part_1_and_2()
    await part_3()


if __name__ == "__main__":
    asyncio.run(main())
