"""Chains pass results along; groups run side by side. Both on a real worker over Redis.

Run it as `python chain_and_group.py`. It starts `celery -A chain_and_group worker` with a
thread pool of four, sends the workflows, and reads the order in which the worker ran each task
from a journal (a Redis list every task appends to), so the output shows what really happened.
"""

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery, chain, group
from celery.result import AsyncResult, GroupResult, ResultBase

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
# One queue and one key prefix per run; the worker inherits the variable and agrees on it.
NAMESPACE = os.environ.setdefault("S7_11_CHAIN_AND_GROUP", f"s7_11_chain_and_group_{os.getpid()}")
JOURNAL = f"{NAMESPACE}:journal"
RUNNING = f"{NAMESPACE}:running"

app = Celery("chain_and_group", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    worker_hijack_root_logger=False,
)
journal = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("chain_and_group")


def note(entry: str) -> None:
    """Append one line to this run's journal: the worker's own record of what ran, in order."""
    journal.rpush(JOURNAL, entry)


@app.task
def reserve_stock(order_id: int) -> dict[str, Any]:
    note(f"reserve_stock({order_id})")
    return {"order_id": order_id, "reservation": f"R-{order_id}", "amount_cents": 4598}


@app.task
def charge_card(reservation: dict[str, Any]) -> dict[str, Any]:
    note(f"charge_card(reservation={reservation['reservation']})")
    return {**reservation, "payment": f"P-{reservation['order_id']}"}


@app.task
def create_shipment(payment: dict[str, Any], carrier: str) -> str:
    note(f"create_shipment(payment={payment['payment']}, carrier={carrier!r})")
    return f"shipment for order {payment['order_id']} via {carrier}"


@app.task
def notify_warehouse(batch: str) -> str:
    note(f"notify_warehouse({batch!r})")
    return f"warehouse told about {batch}"


@app.task
def render_invoice(tenant: str, seconds: float) -> str:
    """Sleeps `seconds` to stand in for rendering; records how many renders overlap."""
    running_now = journal.incr(RUNNING)
    note(f"start {tenant} (renders running: {running_now})")
    time.sleep(seconds)
    journal.decr(RUNNING)
    note(f"finish {tenant}")
    return f"invoice-{tenant}.pdf"


def read_journal() -> list[str]:
    entries = [str(entry) for entry in journal.lrange(JOURNAL, 0, -1)]
    journal.delete(JOURNAL)
    return entries


@contextmanager
def running_worker() -> Iterator[None]:
    """Start one worker with four threads on this run's queue; always stop it."""
    command = [
        *(sys.executable, "-m", "celery", "-A", "chain_and_group", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        *("--pool", "threads", "--concurrency", "4", "--loglevel", "WARNING"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        worker.terminate()  # warm shutdown: tasks in hand finish first
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def delete_run_keys() -> int:
    keys = list(journal.scan_iter(match=f"{NAMESPACE}*"))
    if keys:
        journal.delete(*keys)
    return len(keys)


def show_chain() -> None:
    print("1. A chain: each task's return value becomes the next task's first argument")
    workflow = chain(
        reserve_stock.s(1042),
        charge_card.s(),
        create_shipment.s(carrier="DHL"),  # receives the payment first, then carrier=
    )
    print(f"   canvas: {workflow}")
    result = workflow.apply_async()
    # The first get() also waits for the worker to boot, hence the long timeout.
    print(f"   final result: {result.get(timeout=20)!r}")
    for entry in read_journal():
        print(f"   ran: {entry}")
    # The AsyncResult of a chain is its last task; .parent walks back to the first.
    steps: list[AsyncResult[Any]] = []
    node: ResultBase | None = result
    while isinstance(node, AsyncResult):
        steps.append(node)
        node = node.parent
    print(f"   results reachable through .parent: {len(steps)}")
    print(f"   the first step's own result: {steps[-1].get(timeout=10)!r}")


def show_immutable() -> None:
    print("2. .s() versus .si() for a step that does not want the previous result")
    mutable = chain(reserve_stock.s(1043), notify_warehouse.s("batch-7"))
    try:
        mutable.apply_async().get(timeout=10)
    except TypeError as error:
        print(f"   with .s():  TypeError: {error}")
    immutable = chain(reserve_stock.s(1043), notify_warehouse.si("batch-7"))
    print(f"   with .si(): {immutable.apply_async().get(timeout=10)!r}")
    for entry in read_journal():
        print(f"   ran: {entry}")


def show_group() -> None:
    print("3. A group: one message per member, run by whichever worker threads are free")
    durations = {"acme": 1.0, "globex": 0.7, "initech": 0.4, "umbrella": 0.1}
    job = group(render_invoice.s(tenant, seconds) for tenant, seconds in durations.items())
    started = time.perf_counter()
    result = job.apply_async()
    assert isinstance(result, GroupResult)
    print(f"   apply_async() returned a {type(result).__name__} of {len(result)} results")
    invoices = result.get(timeout=15)
    elapsed = time.perf_counter() - started
    print(f"   get() in header order: {invoices}")
    print(f"   completed_count(): {result.completed_count()}, successful(): {result.successful()}")
    entries = read_journal()
    finished = [entry.split()[1] for entry in entries if entry.startswith("finish")]
    print(f"   finish order: {finished}")
    overlaps = [int(entry.split(": ")[1].rstrip(")")) for entry in entries if "running" in entry]
    print(f"   more than one render at a time: {max(overlaps) > 1}")
    serial = sum(durations.values())
    print(f"   wall time {elapsed:.2f} s against {serial:.2f} s of work in sequence")
    # A GroupResult can be saved and restored by id later, e.g. by a status endpoint.
    result.save()
    restored = GroupResult.restore(result.id, app=app)
    print(f"   restored by id: {restored is not None and restored.ready()}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        with running_worker():
            show_chain()
            show_immutable()
            show_group()
    except Exception:
        log.exception("the workflow demo failed")
        raise
    finally:
        print(f"Stopped the worker; deleted this run's Redis keys: {delete_run_keys() > 0}")


if __name__ == "__main__":
    main()
