"""The invoice job on RQ 3.0: enqueue, a real forking worker, retries, results, Redis keys.

RQ enqueues the plain function by its import path (invoice_jobs.render_invoice), so the job
needs no decorator and cannot live in __main__. The worker is rq.Worker in a forked child
process; it forks again for every job (the "work horse") and runs the scheduler that
delayed retries need. Part 3 lists every Redis key RQ wrote for this run.
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
from invoice_jobs import KEYSPACE_VARIABLE, REDIS_URL, render_invoice
from redis import Redis
from rq import Queue, Retry, Worker
from rq.job import Job, JobStatus

RUN = f"s7_13_rq_{os.getpid()}"  # queue name, job ids and worker name carry it
QUEUE = f"{RUN}.invoices"
os.environ[KEYSPACE_VARIABLE] = RUN  # the job's tax-call counters; forked workers inherit it

log = logging.getLogger("billing")


def run_worker(log_path: str) -> None:
    """The child process: a real RQ worker with its scheduler, logging to a file."""
    os.setsid()  # its own process group, so the parent can reach the work horse too
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = Worker([QUEUE], connection=Redis.from_url(REDIS_URL), name=f"{RUN}.worker")
    worker.work(with_scheduler=True, logging_level="INFO")
    sys.exit(0)


def start_worker(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    """SIGTERM is RQ's warm shutdown: finish the current job, then exit."""
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def wait_until_done(job: Job, timeout: float = 15) -> JobStatus:
    deadline = time.monotonic() + timeout
    while (status := job.get_status()) not in (JobStatus.FINISHED, JobStatus.FAILED):
        if time.monotonic() > deadline:
            raise TimeoutError(f"job {job.id} still {status}")
        time.sleep(0.05)
    return status


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def shown(key: str) -> str:
    return key.replace(RUN, "{run}")


def print_worker_log(log_path: str) -> None:
    """The worker's log lines about each job, grouped by job, without tracebacks."""
    with open(log_path) as handle:
        lines = [line.rstrip() for line in handle]
    print("4. the worker's log, job by job")
    for order_id in (1042, 1099):
        for line in lines:
            if f"invoice-{order_id}" in line or f"order {order_id}:" in line:
                line = re.sub(r"retry at \S+ \S+,", "retry at <time>,", line)
                print(f"  {shown(line)}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stdout)
    connection = Redis.from_url(REDIS_URL)  # RQ stores pickled bytes: no decode_responses
    queue = Queue(QUEUE, connection=connection)
    worker = None
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "worker.log")
        open(log_path, "w").close()
        try:
            print("1. enqueue two invoices before any worker runs")
            ok = queue.enqueue(
                render_invoice, 1042, job_id=f"{RUN}-invoice-1042",
                retry=Retry(max=2, interval=[1, 5]), result_ttl=600,
            )  # fmt: skip
            broken = queue.enqueue(
                render_invoice, 1099, job_id=f"{RUN}-invoice-1099", retry=Retry(max=2)
            )
            print(f"  {shown(ok.id)}: status={ok.get_status().value} func={ok.func_name}")
            print(f"  queue length={len(queue)} key={shown(queue.key)}")
            known = connection.sismember(Queue.redis_queues_keys, queue.key)
            print(f"  listed in {Queue.redis_queues_keys}: {bool(known)}")

            print("2. start a worker and wait for both jobs")
            worker = start_worker(log_path)
            for job in (ok, broken):
                status = wait_until_done(job)
                calls = invoice_jobs.attempts(int(job.args[0]))
                print(f"  {shown(job.id)}: status={status.value} tax calls={calls}")
                print(f"    results: {[result.type.name for result in job.results()]}")
            print(f"  return value: {ok.return_value()}")
            latest = broken.latest_result()
            assert latest is not None and latest.exc_string is not None
            print(f"  last error: {latest.exc_string.strip().splitlines()[-1]}")
            print(
                f"  failed registry: {[shown(i) for i in queue.failed_job_registry.get_job_ids()]}"
            )

            print("3. what RQ keeps in Redis for this run")
            for key in sorted(k.decode() for k in connection.scan_iter(f"*{RUN}*")):
                print(f"  {text(connection.type(key)):<6} {shown(key)}")
        except Exception:
            log.exception("example failed; worker log follows")
            with open(log_path) as handle:
                print(handle.read()[-3000:])
            raise
        finally:
            if worker is not None:
                stop_worker(worker)
            print_worker_log(log_path)
            keys = list(connection.scan_iter(f"*{RUN}*"))
            if keys:
                connection.delete(*keys)
            connection.srem(Queue.redis_queues_keys, queue.key)
            invoice_jobs.clean_up()


if __name__ == "__main__":
    main()
