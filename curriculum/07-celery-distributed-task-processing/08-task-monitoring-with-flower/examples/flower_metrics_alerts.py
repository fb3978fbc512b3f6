"""From Flower's Prometheus metrics and the broker's queue depth to alerts.

The script runs payment tasks (two of them declined) through a real worker while Flower
watches, scrapes Flower's /metrics and parses it with prometheus_client, reads the queue's
depth from Redis the way Flower's /api/queues/length does, exports it as a gauge, and
evaluates alert conditions on the numbers. It checks that every metric named in
flower_alerts.yml (Prometheus alerting rules) is really exported; Prometheus itself is not
run here. Finally it kills the worker with SIGKILL and shows what Flower's metrics do then.

Run it with `python flower_metrics_alerts.py` (needs Redis).
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import httpx
import redis
import yaml
from celery import Celery
from prometheus_client import CollectorRegistry, Gauge, generate_latest
from prometheus_client.parser import text_string_to_metric_families

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = os.environ.setdefault("S7_8_METRICS", f"s7_8_metrics_{os.getpid()}")
WORKER = f"payments@{RUN}"
EXAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
QUEUE = "payments"
PRIORITY_STEPS = (0, 3, 6, 9)  # kombu's default: a Redis queue is up to four lists
SEP = "\x06\x16"  # kombu's default separator between a queue name and its priority
EXPECTED_WORKERS = 1  # the rules file expects 2 in production

app = Celery("flower_metrics_alerts", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=QUEUE,
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    event_exchange=f"{RUN}.ev",
    control_exchange=f"{RUN}.ctl",
    worker_send_task_events=True,
    task_send_sent_event=True,
    result_expires=300,
    broker_connection_retry_on_startup=True,
)
log = logging.getLogger("payments")


class CardDeclined(Exception):
    """The payment provider refused the charge."""


@app.task
def capture_payment(order_id: int, cents: int) -> str:
    if order_id % 3 == 0:
        raise CardDeclined(f"order {order_id} declined")
    return f"captured {cents} for order {order_id}"


def die_with_parent(signum: int) -> None:
    """In a child process, before it starts: on Linux, have the kernel send it `signum` if this
    script dies without reaching its `finally` (killed at a CI timeout, for instance)."""
    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signum)


def run_worker(log_path: str) -> None:
    """The child process: a real Celery worker, forked so it need not import Celery again."""
    os.setsid()
    die_with_parent(signal.SIGTERM)  # a warm shutdown that also stops the pool processes
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    worker = app.Worker(
        hostname=WORKER, pool="prefork", concurrency=2, loglevel="INFO", quiet=True,
        without_gossip=True, without_mingle=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def start_worker(log_path: str) -> multiprocessing.process.BaseProcess:
    sys.stdout.flush()
    process = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
    process.start()
    return process


def stop_worker(worker: multiprocessing.process.BaseProcess) -> None:
    if worker.is_alive() and worker.pid is not None:
        os.kill(worker.pid, signal.SIGTERM)
        worker.join(timeout=10)
        if worker.is_alive():
            os.killpg(worker.pid, signal.SIGKILL)
            worker.join()


def start_flower(workdir: str, log_path: str) -> tuple[subprocess.Popen[bytes], str]:
    """`celery -A flower_metrics_alerts flower` on a free port; the process and its URL."""
    env = {**os.environ, "PYTHONPATH": EXAMPLES_DIR, "FLOWER_UNAUTHENTICATED_API": "true"}
    command = [sys.executable, "-m", "celery", "-A", "flower_metrics_alerts", "flower"]
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            # Drop every series of a worker whose last heartbeat is more than 5 s old.
            [*command, "--address=127.0.0.1", "--port=0", "--purge_offline_workers=5"],
            cwd=workdir,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: die_with_parent(signal.SIGKILL),
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with open(log_path) as handle:
            banner = re.search(r"Visit me at http://127\.0\.0\.1:(\d+)", handle.read())
        if banner:
            return process, f"http://127.0.0.1:{banner.group(1)}"
        if process.poll() is not None:
            break
        time.sleep(0.1)
    stop_flower(process)  # never leave behind a Flower that failed to come up
    raise RuntimeError("Flower did not start")


def stop_flower(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.1)


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(http: httpx.Client) -> tuple[list[str], Samples]:
    """Flower's metric families (flower_* only) and their samples keyed by name and labels."""
    families, samples = [], {}
    for family in text_string_to_metric_families(http.get("/metrics").text):
        if not family.name.startswith("flower_"):
            continue  # prometheus_client's own process_* and python_* metrics
        families.append(f"{family.name} ({family.type})")
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return families, samples


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def queue_depth(store: redis.Redis, queue: str) -> int:
    """What Flower's /api/queues/length computes for Redis: LLEN of every priority list."""
    keys = [f"{RUN}:{queue}{SEP}{step}" if step else f"{RUN}:{queue}" for step in PRIORITY_STEPS]
    return sum(int(store.llen(key)) for key in keys)


def evaluate(samples: Samples, depth: int) -> list[str]:
    """The alert conditions of flower_alerts.yml, on current values and demo thresholds."""
    task = capture_payment.name
    failed = value(samples, "flower_events_total", worker=WORKER, type="task-failed", task=task)
    succeeded = value(
        samples, "flower_events_total", worker=WORKER, type="task-succeeded", task=task
    )
    firing = []
    online = sum(v == 1 for (name, _), v in samples.items() if name == "flower_worker_online")
    if online < EXPECTED_WORKERS:
        firing.append(f"CeleryWorkersMissing ({online} of {EXPECTED_WORKERS} online)")
    if failed + succeeded and failed / (failed + succeeded) > 0.05:
        firing.append(f"CeleryTaskFailureRatioHigh ({failed:.0f}/{failed + succeeded:.0f})")
    if depth > 3:  # the rules file says 1000; a demo queue never gets there
        firing.append(f"CeleryQueueBacklog ({depth} waiting)")
    return firing


def check_rules(path: str, exported: set[str]) -> None:
    with open(path) as handle:
        text = handle.read()
    print(f"  --- {os.path.basename(path)} ---")
    print(text, end="")
    print("  --- checks ---")
    rules = [rule for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]
    for rule in rules:
        missing = {"alert", "expr", "for", "labels", "annotations"} - rule.keys()
        assert not missing, f"{rule.get('alert')}: missing {missing}"
        names = set(re.findall(r"\b(?:flower_[a-z_]+|celery_[a-z_]+|up)\b", rule["expr"]))
        unknown = names - exported - {"up"}  # Prometheus records `up` for every scrape target
        assert not unknown, f"{rule['alert']} uses metrics nobody exports: {unknown}"
        print(f"  {rule['alert']:<27} for {rule['for']:<4} uses {sorted(names)}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        worker_log, flower_log = os.path.join(tmp, "worker.log"), os.path.join(tmp, "flower.log")
        worker = start_worker(worker_log)
        flower: subprocess.Popen[bytes] | None = None
        try:
            flower, url = start_flower(tmp, flower_log)
            http = httpx.Client(base_url=url, timeout=10)
            wait_until(lambda: http.get("/healthcheck").text == "OK", "Flower to answer")
            wait_until(  # alive means Flower has had a worker-heartbeat (every 2 s) from it
                lambda: http.get("/api/workers", params={"status": 1}).json().get(WORKER) is True,
                "Flower to see the worker's heartbeat",
            )

            for result in [capture_payment.delay(order, 2500) for order in range(1, 7)]:
                result.get(timeout=15, propagate=False)
            task = capture_payment.name

            def events(samples: Samples, kind: str) -> float:
                return value(samples, "flower_events_total", worker=WORKER, type=kind, task=task)

            def counted() -> bool:
                samples = scrape(http)[1]
                return events(samples, "task-succeeded") + events(samples, "task-failed") == 6

            wait_until(counted, "Flower to count six finished tasks")
            families, samples = scrape(http)
            print("1. GET /metrics: the metric families Flower exports")
            for family in families:
                print(f"  {family}")
            print("   flower_events_total for capture_payment on the worker:")
            for kind in ("task-received", "task-started", "task-succeeded", "task-failed"):
                print(f"     type={kind:<15} {events(samples, kind):.0f}")
            # task-sent is counted under the producer's hostname (gen<pid>@<host>), which
            # sends no heartbeats, so --purge_offline_workers drops it at every scrape.
            sent = [key for key in samples if ("type", "task-sent") in key[1]]
            print(f"   task-sent series left after purging: {len(sent)}")
            runs = value(samples, "flower_task_runtime_seconds_count", worker=WORKER, task=task)
            print(f"   flower_task_runtime_seconds_count = {runs:.0f} (successes only)")
            online = value(samples, "flower_worker_online", worker=WORKER)
            print(f"   flower_worker_online{{worker=payments@<run>}} = {online:.0f}")

            print("2. Queue depth, which Flower's /metrics does not export")
            app.control.cancel_consumer(QUEUE, destination=[WORKER], reply=True, timeout=2.0)
            for order in range(101, 106):
                capture_payment.delay(order, 990)
            # A BRPOP issued before the cancel may take one message, which kombu puts back.
            wait_until(lambda: queue_depth(store, QUEUE) == 5, "five payments in Redis")
            depth = queue_depth(store, QUEUE)
            flower_view = http.get("/api/queues/length").json()["active_queues"]
            print(f"  LLEN over the priority lists: {depth}")
            print(f"  Flower's /api/queues/length: {flower_view}")
            registry = CollectorRegistry()
            gauge = Gauge(
                "celery_queue_length", "Messages waiting in a Celery queue", ["queue"],
                registry=registry,
            )  # fmt: skip
            gauge.labels(queue=QUEUE).set(depth)
            exposition = generate_latest(registry).decode()
            print("  a 20-line exporter would serve:")
            for line in exposition.splitlines():
                print(f"    {line}")

            print("3. flower_alerts.yml: every metric a rule names is exported")
            exported = {name for name, _ in samples}
            exported |= {line.split("{")[0] for line in exposition.splitlines() if line[:1] != "#"}
            check_rules(os.path.join(EXAMPLES_DIR, "flower_alerts.yml"), exported)
            print(f"  firing now: {evaluate(samples, depth)}")

            print("4. The worker is killed with SIGKILL (no worker-offline event)")
            if worker.pid is not None:
                os.killpg(worker.pid, signal.SIGKILL)
            worker.join()
            _, samples = scrape(http)  # within a second of the kill: the heartbeats just stopped
            online = value(samples, "flower_worker_online", worker=WORKER)
            print(f"  flower_worker_online = {online:.0f} (only a worker-offline event sets 0)")
            pongs = app.control.ping(destination=[WORKER], timeout=0.5) or []
            print(f"  control.ping() replies: {len(pongs)}")
            print(f"  firing now: {evaluate(samples, queue_depth(store, QUEUE))}")

            def purged() -> bool:
                return not any(("worker", WORKER) in labels for _, labels in scrape(http)[1])

            wait_until(purged, "--purge_offline_workers to drop the worker's series", timeout=20)
            _, samples = scrape(http)
            print("  --purge_offline_workers=5: 5 s after the last heartbeat, its series are gone")
            print(f"  firing now: {evaluate(samples, queue_depth(store, QUEUE))}")
        except Exception:
            log.exception("example failed; worker and Flower logs follow")
            for path in (worker_log, flower_log):
                with open(path) as handle:
                    print(handle.read()[-3000:])
            raise
        finally:
            if flower is not None:
                stop_flower(flower)
            stop_worker(worker)
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)


if __name__ == "__main__":
    main()
