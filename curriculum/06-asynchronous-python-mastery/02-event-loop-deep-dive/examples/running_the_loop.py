"""Ways to run an event loop, what each owns, and the policy machinery 3.14 deprecates.

1. asyncio.run(): a new loop per call, closed at the end; loop-bound objects cannot cross.
2. asyncio.Runner: one loop and one contextvars context for several run() calls.
3. A loop on a background thread, used by synchronous code via run_coroutine_threadsafe.
4. Event loop policies: the process-wide factory behind asyncio.new_event_loop().
"""

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class OrderLookupPool:
    """A tiny connection pool: an asyncio.Queue of idle connections."""

    def __init__(self, size: int) -> None:
        self._idle: asyncio.Queue[str] = asyncio.Queue()
        for number in range(1, size + 1):
            self._idle.put_nowait(f"conn-{number}")

    async def fetch(self, order_id: int) -> str:
        connection = await self._idle.get()  # waits (on a loop-bound future) if none is idle
        try:
            await asyncio.sleep(0.005)  # the query
            return f"order {order_id} shipped (via {connection})"
        finally:
            self._idle.put_nowait(connection)


async def two_lookups(pool: OrderLookupPool) -> list[str]:
    return list(await asyncio.gather(pool.fetch(1001), pool.fetch(1002)))


def loop_error(error: RuntimeError) -> str:
    return str(error).split("> ", 1)[-1]  # drop the object's repr, which holds its address


async def nested_run() -> None:
    inner = two_lookups(OrderLookupPool(1))
    try:
        asyncio.run(inner)
    except RuntimeError as error:
        inner.close()  # never awaited: close it to avoid a RuntimeWarning
        print(f"   asyncio.run() inside a coroutine: RuntimeError: {error}")


def with_asyncio_run() -> None:
    print("1. asyncio.run(): a fresh loop every call")
    pool = OrderLookupPool(1)
    print(f"   first run: {asyncio.run(two_lookups(pool))[1]}")
    try:
        asyncio.run(two_lookups(pool))
    except RuntimeError as error:
        print(f"   second run, same pool: RuntimeError: ...{loop_error(error)}")
    asyncio.run(nested_run())


async def tag_request() -> None:
    request_id.set("req-7f3a")


async def read_request_tag() -> str:
    return request_id.get()


def with_runner() -> None:
    print("2. asyncio.Runner: one loop and one context across run() calls")
    pool = OrderLookupPool(1)
    with asyncio.Runner() as runner:
        print(f"   run 1: {runner.run(two_lookups(pool))[1]}")
        print(f"   run 2: {runner.run(two_lookups(pool))[1]}")
        runner.run(tag_request())
        print(f"   run 3 sets request_id, run 4 reads it: {runner.run(read_request_tag())}")
        loop = runner.get_loop()
    print(f"   after the with block the loop is closed: {loop.is_closed()}")
    asyncio.run(tag_request())
    print(f"   the same with two asyncio.run() calls: {asyncio.run(read_request_tag())}")


def with_a_background_loop() -> None:
    print("3. a loop on its own thread serving synchronous callers")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="asyncio-loop", daemon=True)
    thread.start()
    pool = OrderLookupPool(2)

    def sync_view(order_id: int) -> str:  # e.g. a Flask view running on a WSGI worker thread
        future = asyncio.run_coroutine_threadsafe(pool.fetch(order_id), loop)
        return future.result(timeout=2)

    try:
        with ThreadPoolExecutor(max_workers=4) as workers:
            answers = list(workers.map(sync_view, [2001, 2002, 2003, 2004]))
        print(f"   4 worker threads, 1 loop, 2 connections: {len(answers)} answers")
        print(f"   e.g. {answers[0].split(' (')[0]}")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=2)
        loop.close()
    print(f"   loop thread stopped: {not thread.is_alive()}")


async def loop_type() -> str:
    return type(asyncio.get_running_loop()).__name__


def with_policies() -> None:
    print("4. policies: the global factory (deprecated in 3.14, to go in 3.16)")
    print(f"   default policy: {type(asyncio.get_event_loop_policy()).__name__}")

    class TunedPolicy(asyncio.DefaultEventLoopPolicy):
        def new_event_loop(self) -> asyncio.AbstractEventLoop:
            loop = super().new_event_loop()
            loop.slow_callback_duration = 0.05
            print("   TunedPolicy.new_event_loop() was called")
            return loop

    asyncio.set_event_loop_policy(TunedPolicy())  # on 3.14: DeprecationWarning
    try:
        print(f"   asyncio.run() made a {asyncio.run(loop_type())} through the policy")
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            print(f"   Runner(loop_factory=...) made a {runner.run(loop_type())}, no policy")
    finally:
        asyncio.set_event_loop_policy(None)  # back to the default policy


def main() -> None:
    with_asyncio_run()
    with_runner()
    with_a_background_loop()
    with_policies()


if __name__ == "__main__":
    main()
