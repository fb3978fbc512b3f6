"""Task cancellation on Python 3.11: a request, delivered at the next await, counted, easy to lose.

An invoice exporter writes batches for a tenant; a report worker runs one report at a time and
can be told to abort the current report without stopping; a ledger write is shielded from a
client that hangs up.
"""

import asyncio


async def export_invoices(tenant: str, batches: int) -> int:
    """Export a tenant's invoices batch by batch; a cancelled batch is rolled back."""
    print(f"  {tenant}: export started")
    batch = 0
    try:
        while batch < batches:
            batch += 1
            await asyncio.sleep(0.1)  # stands in for writing one batch
        return batches
    except asyncio.CancelledError as cancel:
        me = asyncio.current_task()
        assert me is not None
        print(f"  {tenant}: cancelled in batch {batch}, args={cancel.args}")
        print(f"  {tenant}: rolling back batch {batch}; cancelling()={me.cancelling()}")
        raise  # the cleanup is done; the cancellation goes on
    finally:
        print(f"  {tenant}: export closed")


async def step_1_cancel_is_a_request() -> None:
    print("1. cancel() asks; the CancelledError arrives at the task's next await")
    task = asyncio.create_task(export_invoices("acme", batches=20))
    await asyncio.sleep(0.25)  # two batches written, the third in progress
    print(f"  cancel('deploy') -> {task.cancel('deploy')}, cancelled() -> {task.cancelled()}")
    try:
        await task
    except asyncio.CancelledError as cancel:
        print(f"  the awaiter gets CancelledError{cancel.args}; cancelled() -> {task.cancelled()}")
    print(f"  cancel() on a finished task -> {task.cancel()}")


async def step_2_cancelled_before_it_ever_ran() -> None:
    print("2. a task cancelled before its first step never runs its body")
    task = asyncio.create_task(export_invoices("globex", batches=3))
    task.cancel()
    await asyncio.wait([task])
    print(f"  cancelled() -> {task.cancelled()}; no 'export started', no 'export closed'")


async def step_3_requests_are_counted() -> None:
    print("3. every cancel() call adds one to cancelling()")
    task = asyncio.create_task(export_invoices("initech", batches=20))
    await asyncio.sleep(0.05)
    task.cancel()
    task.cancel()
    print(f"  after two cancel() calls: cancelling()={task.cancelling()}")
    await asyncio.wait([task])


async def swallowing_export(tenant: str) -> str:
    """The bug: a cleanup handler that forgets to re-raise."""
    try:
        await asyncio.sleep(0.3)
    except asyncio.CancelledError:
        print(f"  {tenant}: caught CancelledError and carried on")
    await asyncio.sleep(0.05)  # keeps working after it was told to stop
    return "finished anyway"


async def step_4_a_swallowed_cancellation() -> None:
    print("4. swallowing CancelledError turns a cancel into a normal return")
    task = asyncio.create_task(swallowing_export("umbrella"))
    await asyncio.sleep(0.01)
    print(f"  cancel() -> {task.cancel()}")
    result = await task
    print(f"  result={result!r}, cancelled()={task.cancelled()}")

    print("  ... and inside asyncio.timeout() the deadline silently stops working:")
    try:
        async with asyncio.timeout(0.05) as deadline:
            print(f"  {await swallowing_export('umbrella')!r} past the deadline")
        print(f"  no TimeoutError; expired()={deadline.expired()}")
    except TimeoutError:
        print("  TimeoutError (not reached)")


async def step_5_timeout_uses_cancel_and_uncancel() -> None:
    print("5. asyncio.timeout() cancels its own task, then uncancel()s on the way out")
    me = asyncio.current_task()
    assert me is not None
    try:
        async with asyncio.timeout(0.05):
            try:
                await asyncio.sleep(1)
            except asyncio.CancelledError:
                print(f"  inside the block: CancelledError, cancelling()={me.cancelling()}")
                raise
    except TimeoutError:
        print(f"  outside: TimeoutError, cancelling()={me.cancelling()}")

    async def guarded_export() -> None:
        async with asyncio.timeout_at(asyncio.get_running_loop().time()):
            await asyncio.sleep(1)  # the deadline is already due when this starts

    task = asyncio.create_task(guarded_export())
    await asyncio.sleep(0)  # the task enters the block and waits
    task.cancel()  # a shutdown arrives in the same loop iteration as the deadline
    await asyncio.wait([task])
    print(f"  deadline and shutdown together: cancelled()={task.cancelled()} (not TimeoutError)")


class ReportWorker:
    """Runs reports one after another. abort_current() stops only the report in progress."""

    def __init__(self, reports: list[tuple[str, float]]) -> None:
        self._reports = reports
        self._abort_requested = False
        self._task: asyncio.Task[list[str]] | None = None
        self.current = ""

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="report-worker")

    def abort_current(self) -> None:
        assert self._task is not None
        self._abort_requested = True
        self._task.cancel()

    def shutdown(self) -> None:
        assert self._task is not None
        self._task.cancel()

    async def wait(self) -> list[str]:
        assert self._task is not None
        return await self._task

    async def _run(self) -> list[str]:
        me = asyncio.current_task()
        assert me is not None
        finished = []
        for name, seconds in self._reports:
            self.current = name
            try:
                await asyncio.sleep(seconds)  # stands in for the report's queries
                finished.append(name)
            except asyncio.CancelledError:
                if self._abort_requested:
                    self._abort_requested = False
                    if me.uncancel() == 0:  # ours was the only request: absorb it
                        print(f"  worker: aborted {name}, moving on")
                        continue
                print(f"  worker: stopping during {name}, cancelling()={me.cancelling()}")
                raise
        return finished


async def step_6_isolating_a_cancellation_with_uncancel() -> None:
    print("6. uncancel(): absorb only the cancellation you requested yourself")
    worker = ReportWorker([("revenue", 0.05), ("churn", 1.0), ("usage", 0.05)])
    worker.start()
    await asyncio.sleep(0.1)
    print(f"  abort_current() while running {worker.current}")
    worker.abort_current()
    print(f"  finished: {await worker.wait()}")

    worker = ReportWorker([("revenue", 1.0), ("churn", 1.0)])
    worker.start()
    await asyncio.sleep(0.05)
    worker.abort_current()
    worker.shutdown()  # arrives before the worker has handled the abort
    try:
        await worker.wait()
    except asyncio.CancelledError:
        print("  abort + shutdown together: the worker stopped, as it must")


async def write_ledger_entry(order: str) -> str:
    await asyncio.sleep(0.1)  # stands in for the INSERT and COMMIT
    return f"ledger entry for {order} committed"


async def handle_checkout(order: str, pending_writes: set[asyncio.Task[str]]) -> str:
    write = asyncio.create_task(write_ledger_entry(order))
    pending_writes.add(write)  # the shield does not keep the task alive; this set does
    write.add_done_callback(pending_writes.discard)
    return await asyncio.shield(write)


async def step_7_shield_protects_the_inner_task_only() -> None:
    print("7. shield(): the caller is cancelled, the shielded write is not")
    pending_writes: set[asyncio.Task[str]] = set()
    request = asyncio.create_task(handle_checkout("ORD-7", pending_writes))
    await asyncio.sleep(0.02)
    request.cancel()  # the client hung up
    await asyncio.wait([request])
    print(f"  request cancelled()={request.cancelled()}, writes in flight: {len(pending_writes)}")
    (write,) = pending_writes
    print(f"  {await write}")


async def main() -> None:
    await step_1_cancel_is_a_request()
    await step_2_cancelled_before_it_ever_ran()
    await step_3_requests_are_counted()
    await step_4_a_swallowed_cancellation()
    await step_5_timeout_uses_cancel_and_uncancel()
    await step_6_isolating_a_cancellation_with_uncancel()
    await step_7_shield_protects_the_inner_task_only()


if __name__ == "__main__":
    asyncio.run(main())
