"""Task names and autodiscovery in a small project layout, checked against a real worker.

The example writes a package `shop` into a temporary folder, starts
`celery -A shop.celery_app worker` there, and asks that worker which tasks it knows.
"""

import importlib
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import redis
from celery import Celery, Task
from celery.exceptions import NotRegistered

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = f"s7_3_discovery_{os.getpid()}"
HOSTNAME = f"{NAMESPACE}@localhost"

PROJECT = {
    "shop/__init__.py": "",
    "shop/celery_app.py": """
import os

from celery import Celery

NAMESPACE = os.environ["S7_3_DISCOVERY"]
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("shop", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
# Lazy: the packages are searched for a `tasks` module when the app imports its modules
# (a worker does this at start-up), not now. shop.reports is missing from the list.
app.autodiscover_tasks(["shop.orders", "shop.billing", "shop.catalog"])
""",
    "shop/orders/__init__.py": "",
    "shop/orders/tasks.py": """
from celery import shared_task


@shared_task
def confirm_order(order_id: int) -> str:
    return f"order {order_id} confirmed"


@shared_task(name="orders.cancel")
def cancel_order(order_id: int) -> str:
    return f"order {order_id} cancelled"
""",
    "shop/billing/__init__.py": "",
    "shop/billing/tasks.py": """
from celery import Task, shared_task


@shared_task(bind=True)
def issue_invoice(self: Task, order_id: int) -> str:
    return f"invoice for order {order_id} issued by {self.name}"
""",
    "shop/catalog/__init__.py": "",  # no tasks.py: autodiscovery skips it quietly
    "shop/reports/__init__.py": "",
    "shop/reports/tasks.py": """
from celery import shared_task


@shared_task
def build_sales_report(month: str) -> str:
    return f"sales report for {month}"
""",
}


def write_project(root: Path) -> None:
    for relative, source in PROJECT.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source.lstrip())


@contextmanager
def running_worker(root: Path, log_path: Path) -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "shop.celery_app", "worker"),
        *("--queues", NAMESPACE, "--hostname", HOSTNAME),
        *("--pool", "solo", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, cwd=root, stdout=log, stderr=subprocess.STDOUT, preexec_fn=stop_with_parent
        )
        try:
            yield
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ["S7_3_DISCOVERY"] = NAMESPACE  # read by shop/celery_app.py, here and in the worker
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            write_project(root)
            sys.path.insert(0, folder)  # this process is the producer: it imports shop as well
            log_path = root / "worker.log"
            with running_worker(root, log_path):
                use_the_project()
            print("6. The worker's log about the unregistered task:")
            for line in log_path.read_text().splitlines():
                if "unregistered task" in line:
                    print(f"   {line.split('] ', 1)[1]}")
    finally:
        keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
        if keys:
            client.delete(*keys)
        client.close()


def user_tasks(names: Iterator[str]) -> list[str]:
    return sorted(name for name in names if not name.startswith("celery."))


def project_attribute(module: str, name: str) -> Any:
    """`from module import name`, for modules this file wrote at run time."""
    return getattr(importlib.import_module(module), name)


def use_the_project() -> None:
    app: Celery = project_attribute("shop.celery_app", "app")

    print("1. Tasks this process knows right after importing the app:")
    print(f"   {user_tasks(iter(app.tasks))}")
    app.loader.import_default_modules()  # what the worker does at start-up
    print("2. After app.loader.import_default_modules() runs the autodiscovery:")
    for name in user_tasks(iter(app.tasks)):
        print(f"   {name}")

    confirm_order: Task[Any, Any] = project_attribute("shop.orders.tasks", "confirm_order")
    issue_invoice: Task[Any, Any] = project_attribute("shop.billing.tasks", "issue_invoice")

    print("3. Calling by task object and by name:")
    print(f"   confirm_order.delay(42) -> {confirm_order.delay(42).get(timeout=20)}")
    cancelled = app.send_task("orders.cancel", args=[42])
    print(f"   send_task('orders.cancel', args=[42]) -> {cancelled.get(timeout=10)}")
    print(f"   issue_invoice.delay(42) -> {issue_invoice.delay(42).get(timeout=10)}")

    print("4. What the running worker registered (celery inspect registered):")
    replies = app.control.inspect(destination=[HOSTNAME], timeout=5).registered() or {}
    for name in user_tasks(iter(replies.get(HOSTNAME, []))):
        print(f"   {name}")

    print("5. A task the worker never imported:")
    build_sales_report: Task[Any, Any] = project_attribute(
        "shop.reports.tasks", "build_sales_report"
    )
    report = build_sales_report.delay("2026-02")
    try:
        report.get(timeout=10)
    except NotRegistered as error:
        print(f"   get() raised NotRegistered({error}); state {report.state}")


def stop_with_parent() -> None:
    """Run in the worker's process before it starts: on Linux, ask the kernel to send it SIGTERM
    if this script dies without reaching its `finally` (killed at a timeout, for instance)."""
    import ctypes
    import signal

    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    main()
