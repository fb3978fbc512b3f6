"""The entry point of an async service, and the deployment files that decide how it is stopped.

Part 1 calls `main(environ)` three times in this process, as the container would run it once:
with a broken environment (exit code 78, EX_CONFIG, before any loop exists), with asyncio's own
loop, and with uvloop. Each run configures JSON logging, sizes the default thread pool, installs
a loop exception handler and signal handlers, and then receives a SIGTERM from itself.
Part 2 parses a Dockerfile and a Kubernetes Deployment and checks them against the service's
own settings. Neither Docker nor Kubernetes runs here; the files are parsed, not executed.
"""

import asyncio
import gc
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import uvloop
import yaml

log = logging.getLogger("orders_worker")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    loop: str
    log_level: str
    blocking_threads: int
    drain_grace: float
    close_budget: float

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        problems: list[str] = []

        def number(name: str, default: str, low: float, high: float) -> float:
            raw = env.get(name, default)
            try:
                value = float(raw)
            except ValueError:
                problems.append(f"{name}={raw!r} is not a number")
                return low
            if not low <= value <= high:
                problems.append(f"{name}={raw} is outside {low:g}..{high:g}")
            return value

        loop = env.get("ORDERS_LOOP", "uvloop")
        if loop not in ("asyncio", "uvloop"):
            problems.append(f"ORDERS_LOOP={loop!r} must be 'asyncio' or 'uvloop'")
        settings = cls(
            loop=loop,
            log_level=env.get("ORDERS_LOG_LEVEL", "INFO").upper(),
            blocking_threads=int(number("ORDERS_BLOCKING_THREADS", "8", 1, 64)),
            drain_grace=number("ORDERS_DRAIN_GRACE", "20", 0, 300),
            close_budget=number("ORDERS_CLOSE_BUDGET", "3", 0, 60),
        )
        if problems:  # report every problem at once, not one per deploy
            raise ConfigError("; ".join(problems))
        return settings


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "level": record.levelname,
            "logger": record.name,
            "task": getattr(record, "task", None),
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[1] is not None:
            entry["error"] = repr(record.exc_info[1])
        return json.dumps(entry)


class TaskNameFilter(logging.Filter):
    """3.12 adds LogRecord.taskName; on 3.11 we look the task up ourselves."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop in this thread
            task = None
        record.task = task.get_name() if task else None
        return True


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(TaskNameFilter())
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)


def log_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    error = context.get("exception")
    log.error(
        "loop: %s", context["message"], exc_info=(type(error), error, None) if error else None
    )


async def enrich_order(order_id: str) -> None:
    raise KeyError("customer_tier")  # a bug in a fire-and-forget task


async def serve(settings: Settings) -> int:
    loop = asyncio.get_running_loop()
    asyncio.current_task().set_name("main")  # type: ignore[union-attr]
    loop.set_default_executor(
        ThreadPoolExecutor(settings.blocking_threads, thread_name_prefix="orders-blocking")
    )
    loop.set_exception_handler(log_loop_exception)
    stop = asyncio.Event()
    received: list[int] = []

    def on_signal(signum: int) -> None:
        received.append(signum)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    log.info(
        "started",
        extra={
            "fields": {
                "loop": type(loop).__module__ + "." + type(loop).__name__,
                "blocking_threads": settings.blocking_threads,
            }
        },
    )
    thread = await asyncio.to_thread(lambda: threading.current_thread().name)
    log.info("a blocking call ran on %s", thread)

    task = asyncio.create_task(enrich_order("ORD-4001"), name="enrich-ORD-4001")
    await asyncio.sleep(0)
    del task  # nobody awaits it: the loop reports it when the task is collected
    gc.collect()

    loop.call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)  # the orchestrator
    await stop.wait()
    name = signal.Signals(received[0]).name
    log.info(
        "%s: draining for up to %.0f s, then closing pools within %.0f s",
        name,
        settings.drain_grace,
        settings.close_budget,
    )
    return 128 + received[0]


def main(env: Mapping[str, str]) -> int:
    try:
        settings = Settings.from_env(env)
    except ConfigError as error:
        print(f"orders-worker: configuration error: {error}", file=sys.stderr)
        return os.EX_CONFIG
    configure_logging(settings)
    factory: Callable[[], asyncio.AbstractEventLoop] | None = (
        uvloop.new_event_loop if settings.loop == "uvloop" else None
    )
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(serve(settings))


DOCKERFILE_BEFORE = """\
FROM python:3.11-slim
COPY . /app
RUN pip install --no-cache-dir /app
CMD python -m orders_worker
"""

DOCKERFILE = """\
FROM python:3.11-slim
COPY . /app
RUN pip install --no-cache-dir /app
STOPSIGNAL SIGTERM
CMD ["python", "-m", "orders_worker"]
"""

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders-worker}
spec:
  replicas: 4
  selector: {matchLabels: {app: orders-worker}}
  template:
    metadata: {labels: {app: orders-worker}}
    spec:
      terminationGracePeriodSeconds: 35
      containers:
        - name: worker
          image: registry.example.com/orders-worker:1.42.0
          env:
            - {name: ORDERS_LOOP, value: uvloop}
            - {name: ORDERS_DRAIN_GRACE, value: "20"}
            - {name: ORDERS_CLOSE_BUDGET, value: "3"}
          lifecycle:
            preStop: {exec: {command: ["sleep", "5"]}}
"""


def check_dockerfile(label: str, text: str) -> None:
    instructions = [line.split(maxsplit=1) for line in text.splitlines() if line.strip()]
    cmd = next(args for op, args in instructions if op == "CMD")
    exec_form = cmd.startswith("[") and isinstance(json.loads(cmd), list)
    stop = next((args for op, args in instructions if op == "STOPSIGNAL"), "SIGTERM (default)")
    verdict = (
        "python is PID 1 and gets the signal"
        if exec_form
        else "/bin/sh -c is PID 1 and does not pass SIGTERM on"
    )
    print(f"   {label}: CMD {'exec' if exec_form else 'shell'} form, STOPSIGNAL {stop}: {verdict}")


def check_manifest(text: str) -> None:
    pod = yaml.safe_load(text)["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    settings = Settings.from_env(env)
    pre_stop = float(container["lifecycle"]["preStop"]["exec"]["command"][1])
    needed = pre_stop + settings.drain_grace + settings.close_budget
    grace = pod["terminationGracePeriodSeconds"]
    print(
        f"   manifest: preStop {pre_stop:g} s + drain {settings.drain_grace:g} s + close "
        f"{settings.close_budget:g} s = {needed:g} s of {grace} s grace: "
        f"{'fits' if needed < grace else 'SIGKILL before the drain ends'}"
    )


if __name__ == "__main__":
    print("1. three starts of the same entry point")
    for env in (
        {"ORDERS_LOOP": "trio", "ORDERS_DRAIN_GRACE": "ten"},
        {"ORDERS_LOOP": "asyncio", "ORDERS_BLOCKING_THREADS": "4"},
        {"ORDERS_LOOP": "uvloop"},
    ):
        print(f"-- env {env}")
        print(f"-- exit code {main(env)}")
    print("2. deployment files, parsed and checked")
    check_dockerfile("before", DOCKERFILE_BEFORE)
    check_dockerfile("after ", DOCKERFILE)
    check_manifest(MANIFEST)
