"""JSON log lines from a real prefork worker, each carrying the task id and name.

Celery configures two logger trees: the root logger (worker events, your modules, libraries)
and the task logger "celery.task" (get_task_logger), which does not propagate to root. The
after_setup_logger and after_setup_task_logger signals let us swap the formatter on both,
and a filter adds the current task's id and name to every record, whoever logged it.
Redis is the broker and the result backend.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import re
import signal
import sys
import tempfile
import time
from typing import Any

import redis
from celery import Celery
from celery._state import get_current_task
from celery.signals import after_setup_logger, after_setup_task_logger
from celery.utils.log import get_task_logger

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RUN = f"s7_12_logs_{os.getpid()}"

app = Celery("billing", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=f"{RUN}.billing",
    broker_transport_options={"global_keyprefix": f"{RUN}:"},
    result_backend_transport_options={"global_keyprefix": f"{RUN}:"},
    worker_enable_remote_control=False,
    broker_connection_retry_on_startup=True,
)
task_log = get_task_logger("billing.tasks")  # under "celery.task": does not reach the root handlers
pdf_log = logging.getLogger("billing.pdf")  # an ordinary module logger, used by a helper
STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "task_id", "task_name"}
SHOWN = {"time", "level", "logger", "process", "task_id", "task_name", "message", "traceback"}


class TaskContext(logging.Filter):
    """Adds task_id and task_name to every record logged while a task runs in this process."""

    def filter(self, record: logging.LogRecord) -> bool:
        task = get_current_task()
        request = task.request if task is not None else None
        task_id: str | None = request.id if request is not None else None
        task_name: str | None = task.name if task is not None else None
        # Worker events ("received", "succeeded") are logged outside the task, with the
        # task's id and name in a dict argument: use those.
        if task_id is None and isinstance(record.args, dict):
            task_id, task_name = record.args.get("id"), record.args.get("name")
        record.__dict__.update(task_id=task_id, task_name=task_name)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; fields passed with extra= become top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "task_id": getattr(record, "task_id", None),
            "task_name": getattr(record, "task_name", None),
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in STANDARD})
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def use_json(logger: logging.Logger, **_: Any) -> None:
    """Receiver for both signals: every handler Celery installed now writes JSON."""
    for handler in logger.handlers:
        handler.setFormatter(JsonFormatter())
        handler.addFilter(TaskContext())


after_setup_logger.connect(use_json)  # the root logger: worker events and module loggers
after_setup_task_logger.connect(use_json)  # the task logger, which has its own handlers


class CardDeclinedError(Exception):
    pass


def render_pdf(invoice_id: int) -> int:
    pdf_log.info("rendered pdf", extra={"invoice_id": invoice_id, "pages": 2})
    return 2


@app.task(name="billing.send_invoice")
def send_invoice(tenant: str, invoice_id: int) -> int:
    task_log.info("sending invoice", extra={"tenant": tenant, "invoice_id": invoice_id})
    return render_pdf(invoice_id)


@app.task(name="billing.charge_card")
def charge_card(tenant: str, invoice_id: int) -> None:
    task_log.warning("gateway declined", extra={"tenant": tenant, "invoice_id": invoice_id})
    raise CardDeclinedError(f"invoice {invoice_id}: card declined")


def run_worker(log_path: str) -> None:
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # only the log file matters here
    os.dup2(devnull, 2)
    worker = app.Worker(
        hostname=f"billing@{RUN}", pool="prefork", concurrency=1, loglevel="INFO",
        logfile=log_path, quiet=True,
        without_gossip=True, without_mingle=True, without_heartbeat=True,
    )  # fmt: skip
    worker.start()
    sys.exit(worker.exitcode or 0)


def wait_for_line(log_path: str, text: str, timeout: float = 20) -> None:
    """Wait until the worker's log holds a line containing text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as handle:
            if text in handle.read():
                return
        time.sleep(0.05)
    raise TimeoutError(f"the worker never logged {text!r}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    store = redis.Redis.from_url(REDIS_URL)
    with tempfile.TemporaryDirectory() as tmp:
        log_path = os.path.join(tmp, "worker.json.log")
        sys.stdout.flush()
        worker = multiprocessing.get_context("fork").Process(target=run_worker, args=(log_path,))
        worker.start()
        try:
            send_invoice.apply_async(("acme", 1042), task_id="inv-1042-send").get(timeout=20)
            # The child stores the result before it logs "succeeded": without this wait, the
            # main process's "received" line for the next task can land in the file first.
            wait_for_line(log_path, "inv-1042-send] succeeded")
            result = charge_card.apply_async(("globex", 1043), task_id="inv-1043-charge")
            result.get(timeout=20, propagate=False)
        finally:
            assert worker.pid is not None
            os.kill(worker.pid, signal.SIGTERM)
            worker.join(20)
            if worker.is_alive():
                os.killpg(worker.pid, signal.SIGKILL)
                worker.join()
            keys = list(store.scan_iter(f"{RUN}:*"))
            if keys:
                store.delete(*keys)
        with open(log_path) as handle:
            lines = handle.read().splitlines()
    entries = [json.loads(line) for line in lines]  # raises if any line is not JSON
    print(f"{len(lines)} log lines, every one valid JSON")
    for entry in entries:
        message = re.sub(r"redis://\S+", "<broker>", entry["message"]).replace(RUN, "$RUN")
        message = re.sub(r"succeeded in [0-9.e-]+s", "succeeded in <runtime>s", message)
        print(f"- {entry['level']:<7} [{entry['process']}] {entry['logger']}: {message}")
        if entry["task_id"] is not None:
            extra = {k: v for k, v in entry.items() if k not in {*SHOWN, "data"}}
            print(f"    task_id={entry['task_id']} task_name={entry['task_name']}", end="")
            print(f" extra={extra}" if extra else "", end="")
            print(f" data keys={sorted(entry['data'])}" if "data" in entry else "")
    print("the last line as written, with data and traceback shortened:")
    last = entries[-1] | {"time": "...", "data": {"...": "..."}}
    last["traceback"] = last["traceback"][:34] + "..."
    print(json.dumps(last))


if __name__ == "__main__":
    main()
