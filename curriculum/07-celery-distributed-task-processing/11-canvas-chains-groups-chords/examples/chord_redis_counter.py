"""A chord on Redis: the keys that count its header, a header task that fails, and RPC's refusal.

Run it as `python chord_redis_counter.py`. It starts one worker (four threads) on Redis, holds one
header task back on purpose so you can look at the chord's bookkeeping keys half-way through,
then fails a header task and shows what the body and its errback receive.
"""

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from celery import Celery, chord, group
from celery.result import GroupResult

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
NAMESPACE = os.environ.setdefault("S7_11_CHORD", f"s7_11_chord_{os.getpid()}")
JOURNAL = f"{NAMESPACE}:journal"
GATE = f"{NAMESPACE}:gate"

app = Celery("chord_redis_counter", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    worker_hijack_root_logger=False,
)
client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
log = logging.getLogger("chord_redis_counter")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def note(entry: str) -> None:
    client.rpush(JOURNAL, entry)


@app.task
def count_words(document: str, page: int, wait_for_gate: bool = False) -> int:
    """One header task per page. A gated page blocks until the main process releases it."""
    if wait_for_gate:
        client.blpop([GATE], timeout=10)
    if page == 3 and document == "contract-broken.pdf":
        note(f"page {page} raised")
        raise ValueError(f"page {page} of {document} is not readable")
    note(f"page {page} counted")
    return 100 * page


@app.task
def build_report(counts: list[int], document: str) -> dict[str, Any]:
    """The body: runs once, with every header result in header order."""
    note(f"body got {counts}")
    return {"document": document, "pages": len(counts), "words": sum(counts)}


@app.task
def report_failed(request: Any, exc: BaseException, traceback: str) -> None:
    """An errback with three parameters is called with the failed task's request and error."""
    note(f"errback: {type(exc).__name__} for task {request.task}")


@app.task
def report_failed_by_id(failed_task_id: str) -> None:
    """An errback with one parameter is sent as a message with the failed task's id."""
    note(f"old-style errback: called with task id {failed_task_id}")


def journal_lines() -> list[str]:
    entries = [str(entry) for entry in client.lrange(JOURNAL, 0, -1)]
    client.delete(JOURNAL)
    return entries


def chord_keys() -> dict[str, str]:
    """This run's chord bookkeeping keys in the result backend, described by type and value."""
    described: dict[str, str] = {}
    for key in sorted(client.scan_iter(match=f"{NAMESPACE}:celery-taskset-meta-*")):
        suffix = key.rsplit(".", 1)[1] if "." in key.rsplit("-", 1)[1] else "(group)"
        kind = str(client.type(key))
        if kind == "zset":
            value = f"{client.zcard(key)} results stored"
        elif kind == "set":
            value = f"{client.scard(key)} members"
        else:
            value = repr(client.get(key))
        described[f".{suffix}" if suffix != "(group)" else suffix] = f"{kind}, {value}"
    return described


@contextmanager
def running_worker() -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "chord_redis_counter", "worker"),
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
    """Block until `count` entries are in the journal (the worker's progress), at most 20 s."""
    for _ in range(200):
        if client.llen(JOURNAL) >= count:
            return
        client.blpop([f"{NAMESPACE}:never"], timeout=0.1)  # a 100 ms sleep on the server clock
    raise TimeoutError(f"the worker wrote fewer than {count} journal entries")


def show_counter() -> None:
    print("1. A chord of 4 pages; page 4 is held back, so the chord is 3/4 done")
    header = group(count_words.s("contract.pdf", page, page == 4) for page in range(1, 5))
    result = chord(header)(build_report.s("contract.pdf"))
    wait_for_journal(3)
    for _ in range(100):  # a result is recorded just after its task returns: wait for all three
        if chord_keys().get(".j") == "zset, 3 results stored":
            break
        client.blpop([f"{NAMESPACE}:never"], timeout=0.1)
    for suffix, description in chord_keys().items():
        print(f"   key {suffix}: {description}")
    print(f"   body state while waiting: {result.state}")
    client.rpush(GATE, "go")  # release page 4
    print(f"   body result: {result.get(timeout=10)}")
    print(f"   keys afterwards: {chord_keys()}")
    entries = journal_lines()
    for entry in sorted(entries[:3]) + entries[3:]:  # pages 1-3 run concurrently, in any order
        print(f"   ran: {entry}")


def show_failure() -> None:
    print("2. Page 3 raises; page 4 is held back until after the failure")
    header = group(count_words.s("contract-broken.pdf", page, page == 4) for page in range(1, 5))
    body = build_report.s("contract-broken.pdf").on_error(report_failed.s())
    body = body.on_error(report_failed_by_id.s())
    result = chord(header)(body)
    header_result = result.parent
    assert isinstance(header_result, GroupResult) and header_result.results is not None
    wait_for_journal(3)
    print(f"   after page 3 failed, before page 4 ends: body state {result.state}")
    client.rpush(GATE, "go")
    wait_for_journal(6)  # four pages and two errbacks
    while not result.ready():  # the body's FAILURE is stored just after the errbacks run
        client.blpop([f"{NAMESPACE}:never"], timeout=0.1)
    outcome = result.result
    print(f"   body state {result.state}, result {type(outcome).__name__}:")
    print(f"      {UUID.sub('<task id>', str(outcome))}")
    page_three = header_result.results[2]
    print(f"   page 3's own result still holds the original: {page_three.result!r}")
    entries = journal_lines()
    for entry in sorted(entries[:3]) + entries[3:4]:
        print(f"   ran: {entry}")
    for entry in sorted(entries[4:]):  # the two errbacks run independently, in either order
        print(f"   ran: {entry.replace(result.id, '<the body task id>')}")
    states = [page.state for page in header_result.results]
    print(f"   header states (the chord cancelled nothing): {states}")


def show_rpc_refusal() -> None:
    print("3. The same chord with the RPC result backend")
    rpc_app = Celery("rpc_reports", broker=REDIS_URL, backend="rpc://")
    rpc_app.conf.broker_transport_options = {"global_keyprefix": f"{NAMESPACE}:"}
    task = rpc_app.task(name="rpc_reports.count_words")(count_words.run)
    body = rpc_app.task(name="rpc_reports.build_report")(build_report.run)
    try:
        chord(group(task.s("contract.pdf", page) for page in range(1, 3)))(body.s("contract.pdf"))
    except NotImplementedError as error:
        print(f"   NotImplementedError: {str(error).splitlines()[0]}")
    upgraded = group(task.s("contract.pdf", 1), task.s("contract.pdf", 2)) | body.s("contract.pdf")
    print(f"   group | task builds a {type(upgraded).__name__}, so it is refused as well")


def delete_run_keys() -> int:
    keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
    if keys:
        client.delete(*keys)
    return len(keys)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        with running_worker():
            show_counter()
            show_failure()
        show_rpc_refusal()
    except Exception:
        log.exception("the chord demo failed")
        raise
    finally:
        print(f"Stopped the worker; deleted this run's Redis keys: {delete_run_keys() > 0}")


if __name__ == "__main__":
    main()
    # With Celery 5.7 and redis-py 8, a result object the backend still tracks is finalised
    # during interpreter shutdown, where its unsubscribe call fails with a printed ImportError.
    # Everything is cleaned up by now, so leave without running those finalisers.
    sys.stdout.flush()
    os._exit(0)
