"""asyncio.run() and asyncio.create_task(): when a task starts, and what run() does on the way out.

A small order-sync service starts a heartbeat, a half-read async generator of order pages and
a blocking export in a thread, then returns from main() while all three are unfinished.
"""

import asyncio
import contextvars
import logging
import sys
import threading
import time
from collections.abc import AsyncIterator

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("order-sync")

tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant", default="(none)")
export_finished = threading.Event()
# The loop keeps only weak references to tasks: hold on to what you create.
app_state: dict[str, object] = {}


async def sync_tenant(label: str) -> str:
    print(f"   {label} starts, tenant={tenant.get()}")
    await asyncio.sleep(0)
    return f"{label} done"


async def when_tasks_start() -> None:
    print("1. create_task() schedules; the task runs when the creator next yields")
    task = asyncio.create_task(sync_tenant("sync-acme"), name="sync-acme")
    print(f"   created {task.get_name()!r}; done={task.done()}")
    print("   creator keeps running until its next await")
    result = await task
    print(f"   {result}")

    print("2. context= (3.11+) runs the task in a Context you prepared")
    globex = contextvars.copy_context()
    globex.run(tenant.set, "globex")
    await asyncio.create_task(sync_tenant("sync-globex"), context=globex)
    print(f"   the caller's tenant is still {tenant.get()}")


async def heartbeat() -> None:
    try:
        while True:
            await asyncio.sleep(0.01)
    except asyncio.CancelledError:
        log.info("heartbeat cancelled by asyncio.run() at shutdown")
        raise


async def order_pages() -> AsyncIterator[list[int]]:
    try:
        for first in range(0, 300, 100):
            yield list(range(first, first + 100))
    finally:
        log.info("order_pages closed by shutdown_asyncgens()")


def export_to_csv() -> None:
    time.sleep(0.2)
    export_finished.set()


async def leave_work_behind() -> None:
    print("3. main() returns with a task, an async generator and a thread unfinished")
    app_state["heartbeat"] = asyncio.create_task(heartbeat(), name="heartbeat")
    pages = order_pages()
    app_state["pages"] = pages
    first_page = await anext(pages)
    print(f"   read one page of {len(first_page)} orders, left the generator open")
    app_state["export"] = asyncio.create_task(asyncio.to_thread(export_to_csv), name="export")
    await asyncio.sleep(0.05)
    print("   main() returns now")


def main() -> None:
    asyncio.run(when_tasks_start())

    asyncio.run(leave_work_behind())
    export = app_state["export"]
    assert isinstance(export, asyncio.Task)
    print(
        f"   after run(): export task cancelled={export.cancelled()}, "
        f"export thread finished={export_finished.is_set()}"
    )

    print("4. what run() refuses")
    try:
        asyncio.run(leave_work_behind)  # type: ignore[arg-type]  # the function, not a call
    except ValueError as error:
        print(f"   ValueError: {str(error).split(' at 0x')[0]}>")

    async def nested() -> None:
        inner = when_tasks_start()
        try:
            asyncio.run(inner)
        except RuntimeError as error:
            inner.close()  # never started: close it, or Python warns it was never awaited
            print(f"   RuntimeError: {error}")

    asyncio.run(nested())

    print("5. asyncio.Runner: several run() calls on one loop and one Context")
    with asyncio.Runner() as runner:
        runner.run(set_tenant("initech"))
        print(f"   second run() sees tenant={runner.run(read_tenant())}")
    print(f"   a fresh asyncio.run() sees tenant={asyncio.run(read_tenant())}")

    early = sync_tenant("too-early")
    try:
        asyncio.create_task(early)  # noqa: RUF006 - it raises before any task exists
    except RuntimeError as error:
        early.close()
        print(f"6. create_task() outside a running loop: RuntimeError: {error}")


async def set_tenant(name: str) -> None:
    tenant.set(name)


async def read_tenant() -> str:
    return tenant.get()


if __name__ == "__main__":
    main()
