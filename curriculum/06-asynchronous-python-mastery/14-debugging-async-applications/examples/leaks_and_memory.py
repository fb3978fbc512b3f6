"""Finding leaked tasks and the memory they hold, with all_tasks() and tracemalloc.

A webhook dispatcher delivers each event to a subscriber and waits for its acknowledgement.
One subscriber in three never acknowledges. The buggy dispatcher waits without a deadline, so
its tasks, their payloads and their Events pile up; the fixed one gives up after 50 ms and
cleans up in `finally`. A third part shows a leak with no task in sight: caught exceptions kept
in a list hold their traceback's frames, and the frames hold the payloads.
"""

import asyncio
import collections
import gc
import os
import tracemalloc
from typing import Any

PAYLOAD_BYTES = 4096
HERE = os.path.basename(__file__)


class Dispatcher:
    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline
        self.in_flight: dict[str, bytes] = {}  # payloads kept for redelivery until acknowledged
        self.acks: dict[str, asyncio.Event] = {}
        self.background: set[asyncio.Task[None]] = set()  # strong references (section 6.4)

    def dispatch(self, event_id: str, payload: bytes) -> None:
        task = asyncio.create_task(self.deliver(event_id, payload), name=f"deliver-{event_id}")
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def deliver(self, event_id: str, payload: bytes) -> None:
        self.in_flight[event_id] = payload
        self.acks[event_id] = ack = asyncio.Event()
        if self.deadline is None:  # the leak: no deadline, cleanup after the await
            await ack.wait()
            del self.in_flight[event_id], self.acks[event_id]
            return
        try:  # the fix: a deadline, and cleanup that runs however the wait ends
            async with asyncio.timeout(self.deadline):
                await ack.wait()
        except TimeoutError:
            pass  # a real service would schedule a retry and count the failure
        finally:
            del self.in_flight[event_id], self.acks[event_id]


async def subscriber_acknowledges(dispatcher: Dispatcher, event_id: str, number: int) -> None:
    await asyncio.sleep(0.005)
    if number % 3 != 0:  # one subscriber in three never answers
        dispatcher.acks[event_id].set()


def suspended_at(task: "asyncio.Task[Any]") -> str:
    coro = task.get_coro()
    frame = getattr(coro, "cr_frame", None)
    line = frame.f_lineno if frame is not None else "?"
    return f"{getattr(coro, '__qualname__', '?')} at {HERE}:{line}"


async def run_batches(label: str, deadline: float | None) -> None:
    print(f"== {label}")
    dispatcher = Dispatcher(deadline)
    await asyncio.sleep(0)  # let callbacks still queued from the last run finish
    gc.collect()  # and free its garbage, so the diff shows only this run
    before = tracemalloc.take_snapshot()
    for batch in range(3):
        numbers = range(batch * 100, batch * 100 + 100)
        for number in numbers:
            dispatcher.dispatch(f"EVT-{number:04d}", bytes(PAYLOAD_BYTES))
        await asyncio.gather(
            *(subscriber_acknowledges(dispatcher, f"EVT-{n:04d}", n) for n in numbers)
        )
        await asyncio.sleep(0.08)  # longer than the fixed dispatcher's 50 ms deadline
        print(
            f"   after batch {batch + 1}: tasks alive={len(asyncio.all_tasks())}, "
            f"payloads held={len(dispatcher.in_flight)}"
        )
    ignore_tracemalloc = [tracemalloc.Filter(False, tracemalloc.__file__)]
    after = tracemalloc.take_snapshot().filter_traces(ignore_tracemalloc)  # before inspecting
    growth = after.compare_to(before.filter_traces(ignore_tracemalloc), "lineno")
    waiting = collections.Counter(suspended_at(t) for t in dispatcher.background)
    for where, count in waiting.most_common():
        print(f"   {count} tasks suspended in {where}")
    print("   tracemalloc, the three lines that grew most (over 24 KiB):")
    biggest = [stat for stat in growth if stat.size_diff > 24 * 1024][:3]
    if not biggest:
        print("     (none)")
    for stat in biggest:
        frame = stat.traceback[0]
        print(
            f"     {os.path.basename(frame.filename) + ':' + str(frame.lineno):<24}"
            f"+{stat.size_diff / 1024:6.1f} KiB in {stat.count_diff:+} blocks"
        )
    for task in list(dispatcher.background):
        task.cancel()
    await asyncio.gather(*dispatcher.background, return_exceptions=True)


class DeliveryFailed(Exception):
    pass


async def post_webhook(event_id: str, payload: bytes) -> None:
    await asyncio.sleep(0)
    raise DeliveryFailed(f"{event_id}: subscriber answered 503")


async def keep_failures(keep: str) -> None:
    failures: list[Any] = []
    gc.collect()
    before = tracemalloc.take_snapshot()
    for number in range(100):
        payload = bytes(PAYLOAD_BYTES)
        try:
            await post_webhook(f"EVT-{number:04d}", payload)
        except DeliveryFailed as error:
            failures.append(error if keep == "exceptions" else str(error))
        del payload
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    print(f"   keeping 100 {keep:<10}: +{grown / 1024:6.0f} KiB still allocated")


async def main() -> None:
    tracemalloc.start()
    await run_batches("1. no deadline on the acknowledgement (the leak)", deadline=None)
    await run_batches("2. a 50 ms deadline and cleanup in finally", deadline=0.05)
    print("== 3. a leak without tasks: caught exceptions hold their frames")
    await keep_failures("exceptions")
    await keep_failures("messages")
    tracemalloc.stop()


if __name__ == "__main__":
    asyncio.run(main())
