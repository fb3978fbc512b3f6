"""A chain of chords for a nightly billing run, then the same workflow with a failing step.

Run it as `python workflow_of_chords.py`. Stage one renders one invoice per tenant and merges them;
stage two publishes the merged batch to several channels and summarises. One worker with four
threads runs everything; a Redis journal records the order in which tasks really ran.
"""

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery, chain, chord, group
from celery.canvas import Signature

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.setdefault("S7_11_WORKFLOW", f"s7_11_workflow_{os.getpid()}")
JOURNAL = f"{NAMESPACE}:journal"

app = Celery("workflow_of_chords", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    worker_hijack_root_logger=False,
)
client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("workflow_of_chords")


def note(entry: str) -> None:
    client.rpush(JOURNAL, entry)


@app.task
def open_billing_run(day: str) -> str:
    note(f"A open_billing_run({day})")
    return f"run-{day}"


@app.task
def render_invoice(run_id: str, tenant: str) -> dict[str, Any]:
    """A header task inside a chain: the previous result arrives first, then its own argument."""
    note(f"B render_invoice({run_id}, {tenant})")
    return {"tenant": tenant, "cents": 1000 * len(tenant)}


@app.task
def merge_invoices(invoices: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    note(f"C merge_invoices({len(invoices)} invoices)")
    return {"run": run_id, "total_cents": sum(invoice["cents"] for invoice in invoices)}


@app.task
def publish(batch: dict[str, Any], channel: str) -> str:
    if channel == "sftp" and batch["run"].endswith("broken"):
        note(f"D publish({channel}) raised")
        raise ConnectionError(f"sftp server refused {batch['run']}")
    note(f"D publish({channel})")
    return f"{channel}: {batch['total_cents']}"


@app.task
def summarise(receipts: list[str]) -> str:
    note(f"E summarise({receipts})")
    return f"{len(receipts)} channels published"


@app.task
def alert_on_call(request: Any, exc: BaseException, traceback: str) -> None:
    note(f"errback: {request.task.rsplit('.', 1)[1]} failed with {type(exc).__name__}")


def nightly_billing(day: str, tenants: list[str], channels: list[str]) -> Signature[Any]:
    """open -> chord(render per tenant -> merge) -> chord(publish per channel -> summarise)."""
    run_id = f"run-{day}"
    return chain(
        open_billing_run.s(day),
        chord((render_invoice.s(tenant) for tenant in tenants), merge_invoices.s(run_id)),
        chord((publish.s(channel) for channel in channels), summarise.s()),
    )


def journal_lines() -> list[str]:
    entries = [str(entry) for entry in client.lrange(JOURNAL, 0, -1)]
    client.delete(JOURNAL)
    return entries


def print_stages(entries: list[str]) -> None:
    """Print the journal stage by stage (A, B, ...). Tasks of one stage run concurrently, so
    they are sorted within it; errbacks run whenever their task fails, so they come last."""
    steps = [entry for entry in entries if not entry.startswith("errback")]
    for index, entry in enumerate(steps):
        if index == 0 or entry[0] != steps[index - 1][0]:
            stage = sorted(step for step in steps if step[0] == entry[0])
            for line in stage:
                print(f"   ran: {line}")
    for entry in sorted(set(entries) - set(steps)):
        print(f"   ran: {entry}")


@contextmanager
def running_worker() -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "workflow_of_chords", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        *("--pool", "threads", "--concurrency", "4", "--loglevel", "CRITICAL"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_for_journal(count: int) -> None:
    for _ in range(200):
        if client.llen(JOURNAL) >= count:
            return
        client.blpop([f"{NAMESPACE}:never"], timeout=0.1)
    raise TimeoutError(f"the worker wrote fewer than {count} journal entries")


def run_and_report(workflow: Signature[Any], errbacks: int = 1) -> None:
    failed = workflow.apply_async()
    outcome = failed.get(timeout=20, propagate=False)
    print(f"   last step: {failed.state}, {type(outcome).__name__}")
    wait_for_journal(8 + errbacks)
    print_stages(journal_lines())


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    tenants, channels = ["acme", "globex", "initech"], ["email", "sftp", "webhook"]
    try:
        with running_worker():
            print("1. A chain of two chords: every stage waits for the one before")
            upgraded = group(render_invoice.s("acme"), render_invoice.s("globex")) | summarise.s()
            print(f"   (group | task alone already builds a {type(upgraded).__name__})")
            result = nightly_billing("2025-03-31", tenants, channels).apply_async()
            print(f"   result: {result.get(timeout=20)!r}")
            print_stages(journal_lines())

            print("2. link_error on the whole chain; the sftp publish fails")
            broken = nightly_billing("broken", tenants, channels)
            broken.link_error(alert_on_call.s())
            run_and_report(broken)

            print("3. The same with task_allow_error_cb_on_chord_header=True")
            app.conf.task_allow_error_cb_on_chord_header = True
            broken = nightly_billing("broken", tenants, channels)
            broken.link_error(alert_on_call.s())
            run_and_report(broken, errbacks=2)
    except Exception:
        log.exception("the workflow demo failed")
        raise
    finally:
        keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
        if keys:
            client.delete(*keys)
        print(f"Stopped the worker; deleted this run's Redis keys: {len(keys) > 0}")


if __name__ == "__main__":
    main()
    # A result the Redis backend still tracks would be finalised at interpreter shutdown and print
    # an ImportError from its unsubscribe call; the work is done, so skip the finalisers.
    sys.stdout.flush()
    os._exit(0)
