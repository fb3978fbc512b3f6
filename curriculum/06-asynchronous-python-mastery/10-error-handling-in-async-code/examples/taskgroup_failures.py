"""What comes out of a TaskGroup: nested groups, cancellations, deadlines and interrupts.

A billing worker pushes each tenant's invoices to an accounting API, one TaskGroup per tenant
inside one TaskGroup for the run. Python 3.11 semantics; each step says what to catch.
"""

import asyncio
import gc
import os
import signal
from typing import Any


class PushRejected(Exception):
    """The accounting API answered 4xx for one invoice."""


class AccountingDown(Exception):
    """The accounting API answered 503."""


def outline(error: BaseException, depth: int = 0) -> list[str]:
    """A group as an indented outline: the shape except* and split() walk."""
    pad = "    " + "  " * depth
    if isinstance(error, BaseExceptionGroup):
        notes = f" notes={error.__notes__}" if hasattr(error, "__notes__") else ""
        lines = [f"{pad}{type(error).__name__}({error.message!r}){notes}"]
        for member in error.exceptions:
            lines += outline(member, depth + 1)
        return lines
    return [f"{pad}{error!r}"]


async def push(invoice: str, after: float, error: Exception | None = None) -> str:
    await asyncio.sleep(after)
    if error is not None:
        raise error
    return invoice


async def sync_tenant(tenant: str, failures: dict[str, Exception]) -> None:
    try:
        async with asyncio.TaskGroup() as group:
            for number in (1, 2):  # after=0: all failures land in the same loop iteration
                invoice = f"{tenant}-INV-{number}"
                group.create_task(push(invoice, 0, failures.get(invoice)), name=invoice)
    except BaseExceptionGroup as errors:  # plain except: the note goes on the object that travels
        errors.add_note(f"tenant={tenant}")
        raise


async def step_1_nested_groups() -> None:
    print("1. a group per tenant inside a group per run: errors nest the same way")
    failures: dict[str, Exception] = {
        "acme-INV-2": PushRejected("acme-INV-2: 422 unknown VAT code"),
        "globex-INV-1": PushRejected("globex-INV-1: 409 already booked"),
        "globex-INV-2": AccountingDown("503 from accounting"),
    }
    try:
        async with asyncio.TaskGroup() as run:
            for tenant in ("acme", "globex", "initech"):
                run.create_task(sync_tenant(tenant, failures), name=f"sync-{tenant}")
    except* AccountingDown as outage:
        print("\n".join(outline(outage)))
    except* PushRejected as rejected:
        print("\n".join(outline(rejected)))


async def hold_connection(name: str, *, cleanup_fails: bool = False) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        if cleanup_fails:
            raise AccountingDown(f"{name}: could not return the connection") from None
        raise


async def run_until_shutdown(cleanup_fails: bool) -> str:
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(hold_connection("acme"))
            group.create_task(hold_connection("globex", cleanup_fails=cleanup_fails))
    except* AccountingDown as outage:
        print(f"    handler logged {outage.exceptions!r} and returned")
    return "returned normally"


async def step_2_a_shutdown_meets_a_failing_cleanup() -> None:
    print("2. the run is cancelled from outside (a shutdown) while both pushes wait")
    for cleanup_fails in (False, True):
        worker = asyncio.create_task(run_until_shutdown(cleanup_fails), name="billing-run")
        await asyncio.sleep(0.01)
        worker.cancel("SIGTERM")
        try:
            outcome = await worker
        except asyncio.CancelledError:
            outcome = "CancelledError"
        print(
            f"  cleanup fails={cleanup_fails}: {outcome}; "
            f"cancelled()={worker.cancelled()}, cancelling()={worker.cancelling()}"
        )


async def step_3_where_the_deadline_sits() -> None:
    print("3. the same 50 ms deadline, around the group or inside each child")
    try:
        async with asyncio.timeout(0.05):
            async with asyncio.TaskGroup() as group:
                group.create_task(hold_connection("acme"))
    except TimeoutError as error:
        print(f"  around the group: a bare {error!r}, __cause__={error.__cause__!r}")

    async def push_with_deadline() -> None:
        async with asyncio.timeout(0.05):
            await hold_connection("acme")

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(push_with_deadline())
    except TimeoutError:
        print("  (not reached: except TimeoutError never matches a group)")
    except ExceptionGroup as grouped:
        print(f"  inside the child: {grouped!r}")

    try:
        async with asyncio.timeout(0.05) as deadline:
            async with asyncio.TaskGroup() as group:
                group.create_task(hold_connection("acme"))
                group.create_task(hold_connection("globex", cleanup_fails=True))
    except* TimeoutError:
        print("  (not reached)")
    except* AccountingDown as outage:
        print(f"  around, with a failing cleanup: {outage!r}")
        print(f"  only the Timeout object knows the deadline fired: expired()={deadline.expired()}")
    print(f"  and TimeoutError is an OSError: {issubclass(TimeoutError, OSError)}")


def on_loop_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    task = context.get("task") or context.get("future")
    name = task.get_name() if isinstance(task, asyncio.Task) else "-"
    print(f"    loop handler: {context['message']} [{name}] {context.get('exception')!r}")


async def hold_until_cancelled(name: str) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        print(f"    {name}: cancelled, closing its connection")
        raise


async def child_exits(code: int) -> None:
    await asyncio.sleep(0.01)
    raise SystemExit(code)


async def run_with_exiting_child(code: int) -> None:
    main_task = asyncio.current_task()
    assert main_task is not None
    main_task.set_name("billing-run")
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(hold_until_cancelled("push-acme"), name="push-acme")
            group.create_task(child_exits(code), name="push-globex")
    except BaseException as error:
        print(f"    the group raised {error!r}, bare, not in a group")
        raise


def step_4_systemexit_in_a_child() -> None:
    print("4. a child raising SystemExit: it leaves the event loop at once")
    runner = asyncio.Runner()
    runner.get_loop().set_exception_handler(on_loop_error)
    try:
        runner.run(run_with_exiting_child(3))
    except SystemExit as error:
        pending = sorted(t.get_name() for t in asyncio.all_tasks(runner.get_loop()))
        print(f"  runner.run() raised {error!r}; still pending: {pending}")
    print("  closing the runner cancels what is left:")
    try:
        runner.close()
    except SystemExit as error:
        print(f"  runner.close() raised {error!r} a second time")
    gc.collect()


async def close_on_cancel(name: str, closed: list[str]) -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        closed.append(name)
        raise


async def wait_for_ctrl_c() -> None:
    closed: list[str] = []
    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(close_on_cancel("push-acme", closed))
            group.create_task(close_on_cancel("push-globex", closed))
            await asyncio.sleep(0.01)
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends
            await asyncio.sleep(5)
    except BaseException as error:
        # the group cancels its children in set order, so sort before printing
        print(f"    children cancelled and cleaned up: {sorted(closed)}")
        print(f"    inside, the main task saw {error!r}")
        raise


def step_5_ctrl_c_under_asyncio_run() -> None:
    print("5. Ctrl-C under asyncio.run(): CancelledError inside, KeyboardInterrupt outside")
    try:
        asyncio.run(wait_for_ctrl_c())
    except KeyboardInterrupt as error:
        print(f"  asyncio.run() raised {error!r}")


async def async_steps() -> None:
    await step_1_nested_groups()
    await step_2_a_shutdown_meets_a_failing_cleanup()
    await step_3_where_the_deadline_sits()


if __name__ == "__main__":
    asyncio.run(async_steps())
    step_4_systemexit_in_a_child()
    step_5_ctrl_c_under_asyncio_run()
