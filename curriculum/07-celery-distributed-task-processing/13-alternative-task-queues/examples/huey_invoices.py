"""The invoice job on Huey 3.5: a task, a real consumer process, retries, results, a crash.

The consumer runs in a forked child with two worker threads, as `huey_consumer` would run
it. Part 2 shows a trap in Huey's result handling: with retries, the error of a failed
attempt is stored as the result until the retry succeeds. Part 4 kills the consumer while a
task runs, to show what Huey's Redis storage does with work in progress.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time

import invoice_jobs
import redis
from huey import RedisHuey  # type: ignore[import-untyped]  # huey ships no type hints
from huey.exceptions import TaskException  # type: ignore[import-untyped]
from invoice_jobs import KEYSPACE_VARIABLE, REDIS_URL, render_invoice

RUN = f"s7_13_huey_{os.getpid()}"
os.environ[KEYSPACE_VARIABLE] = RUN

huey = RedisHuey(RUN, url=REDIS_URL)  # name -> keys huey.redis.<name>, huey.results.<name>, ...
render = huey.task(retries=2, retry_delay=1)(render_invoice)  # delays in seconds
log = logging.getLogger("billing")


def archive_invoice(order_id: int) -> str:
    """A slow task (uploading the PDF to cold storage), for the crash in part 4."""
    invoice_jobs.connect().set(f"{RUN}:archive_started:{order_id}", 1)
    time.sleep(3)
    return f"archived {order_id}"


archive_task = huey.task()(archive_invoice)  # registered as __main__.archive_invoice


def run_consumer(log_path: str) -> None:
    os.setsid()
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    logging.getLogger().handlers.clear()
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    consumer = huey.create_consumer(workers=2, worker_type="thread", periodic=False)
    consumer.run()  # until SIGINT (graceful) or SIGTERM (immediate)
    sys.exit(0)


def start_consumer(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_consumer, args=(log_path,))
    process.start()
    return process


def stop_consumer(consumer: multiprocessing.process.BaseProcess) -> None:
    if consumer.is_alive() and consumer.pid is not None:
        os.kill(consumer.pid, signal.SIGINT)  # Huey's graceful signal by default
        consumer.join(timeout=10)
        if consumer.is_alive():
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.join()


def wait_for(condition_key: str, timeout: float = 10) -> None:
    store = invoice_jobs.connect()
    deadline = time.monotonic() + timeout
    while not store.exists(condition_key):
        if time.monotonic() > deadline:
            raise TimeoutError(condition_key)
        time.sleep(0.05)


def print_keys(store: redis.Redis, labels: dict[str, str] | None = None) -> None:
    for key in sorted(store.scan_iter(f"huey.*{RUN}*")):
        kind = str(store.type(key))
        fields = sorted(str(field) for field in store.hkeys(key)) if kind == "hash" else []
        shown = [(labels or {}).get(field, "<task id>") for field in fields]
        print(f"  {kind:<6} {key.replace(RUN, '{run}')} {' '.join(shown)}".rstrip())
        if kind == "list":
            print(f"         {store.llen(key)} serialized tasks")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s", stream=sys.stdout)
    store = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    consumer = None
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "consumer.log")
        open(log_path, "w").close()
        labels: dict[str, str] = {}
        try:
            print("1. enqueue: calling the task function returns a Result handle")
            ok = render(1042)
            broken = render(1099)
            labels.update({ok.id: "<task 1042>", broken.id: "<task 1099>"})
            print(f"  {type(ok).__name__}, queue length {huey.pending_count()}")
            print_keys(store)
            consumer = start_consumer(log_path)

            print("2. a blocking get() while the task is being retried")
            try:
                print(f"  {ok.get(blocking=True, timeout=10)}")
            except TaskException as exc:
                print(f"  TaskException: {exc} (retries left: {exc.metadata['retries']})")
            ok.reset()  # forget the cached error and read again
            print(f"  after reset(): {ok.get(blocking=True, timeout=10)}")
            print(f"  tax calls for 1042: {invoice_jobs.attempts(1042)}")

            print("3. the order whose tax service never answers")
            while True:  # each read may see an earlier attempt's error: read until the last
                try:
                    broken.get(blocking=True, timeout=10, preserve=True)
                except TaskException as exc:
                    if exc.metadata["retries"] == 0:
                        print(f"  final TaskException: {exc}, retries left: 0")
                        break
                    time.sleep(0.1)
                    broken.reset()
            print(f"  tax calls for 1099: {invoice_jobs.attempts(1099)}")

            print("4. SIGKILL the consumer while archive_invoice(1042) runs")
            archived = archive_task(1042)
            labels[archived.id] = "<task archive 1042>"
            wait_for(f"{RUN}:archive_started:1042")
            assert consumer.pid is not None
            os.killpg(consumer.pid, signal.SIGKILL)
            consumer.join()
            print(f"  queue length {huey.pending_count()}, scheduled {huey.scheduled_count()}")
            print(f"  result stored: {archived.get() is not None}")

            print("5. what Huey keeps in Redis for this run now")
            print_keys(store, labels)
        except Exception:
            log.exception("example failed; consumer log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            if consumer is not None:
                stop_consumer(consumer)
            print("6. the consumer's log, task by task")
            with open(log_path) as handle:
                lines = [line.rstrip() for line in handle]
            for task_id, label in labels.items():
                for line in lines:
                    if task_id in line:
                        line = re.sub(
                            r"in \d+\.\d+s", "in <duration>", line.replace(task_id, label)
                        )
                        line = re.sub(r"@?\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+", "<time>", line)
                        print(f"  {line}")
            keys = list(store.scan_iter(f"huey.*{RUN}*")) + list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)
            invoice_jobs.clean_up()


if __name__ == "__main__":
    main()
