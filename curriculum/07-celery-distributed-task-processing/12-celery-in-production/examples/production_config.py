"""A production configuration for the billing worker, and the deployment files checked against it.

Part 1 loads the configuration into a Celery app (nothing connects) and prints every setting it
changes next to Celery's default. Part 2 checks the relations between the settings. Part 3
parses the systemd unit, the Dockerfile and the Kubernetes manifests beside it and checks
them against the same numbers. None of the deployment files is executed here: there is no
systemd, Docker or Kubernetes on this machine, so they are parsed and checked, nothing more.
"""

from __future__ import annotations

import configparser
import json
import os
import shlex
from pathlib import Path
from typing import Any, ClassVar

import yaml
from celery import Celery
from celery.app.defaults import DEFAULTS

DEPLOY = Path(__file__).parent  # the deployment files sit beside this example
SHUTDOWN_MARGIN_S = 60  # time for the warm shutdown itself after the longest task


class BillingWorkerConfig:
    """Settings for every billing producer and worker (section 7.4: one module, both sides)."""

    broker_url = os.environ.get(
        "BILLING_BROKER_URL", "amqp://billing:change-me@rabbitmq:5672/billing"
    )
    result_backend = os.environ.get("BILLING_RESULT_BACKEND", "redis://redis:6379/1")
    broker_connection_retry_on_startup = True  # keep retrying while the broker starts too
    # 7.9: publisher confirms, so a publish returns once RabbitMQ has stored the message
    broker_transport_options: ClassVar[dict[str, Any]] = {"confirm_publish": True}
    task_default_queue = "billing"
    task_create_missing_queues = False  # 7.4: a typo raises instead of inventing a queue
    task_serializer = "json"
    # never pickle: whoever can publish to the broker could run code on the workers
    accept_content: ClassVar[list[str]] = ["json"]
    task_acks_late = True  # 7.7: a crash or a cold shutdown requeues the task ...
    task_reject_on_worker_lost = False  # ... but a killed child does not loop for ever;
    task_retry_on_worker_lost = True  # it is retried instead, bounded by max_retries
    task_time_limit = 600  # every task has a hard limit ...
    task_soft_time_limit = 540  # ... and a soft one with room to clean up
    worker_prefetch_multiplier = 1  # long tasks: reserve one message per child
    worker_max_tasks_per_child = 500  # bound slow leaks in third-party code
    worker_max_memory_per_child = 350_000  # KiB, checked after each task (peak RSS)
    worker_concurrency = 4
    worker_cancel_long_running_tasks_on_connection_loss = True  # the default from Celery 6.0
    worker_send_task_events = True  # for Flower and event-based monitoring (7.8)
    task_send_sent_event = True
    worker_hijack_root_logger = True  # Celery owns the handlers; we swap formatters (JSON)
    result_expires = 3600  # seconds; nobody reads a billing result after an hour
    task_ignore_result = True  # results only for the tasks whose callers read them


def load() -> Celery:
    app = Celery("billing")
    app.config_from_object(BillingWorkerConfig)
    return app


def changed_settings(app: Celery) -> None:
    print("1. what the production configuration changes (setting: default -> production)")
    for key in sorted(vars(BillingWorkerConfig)):
        if key.startswith("_") or key in {"broker_url", "result_backend"}:
            continue
        default = DEFAULTS.get(key, "(no default)")
        value = app.conf[key]
        if isinstance(default, tuple):
            default = list(default)
        if default != value:
            print(f"   {key}: {default!r} -> {value!r}")


def check(ok: bool, label: str) -> bool:
    print(f"   [{'ok' if ok else 'FAIL'}] {label}")
    return ok


def check_settings(app: Celery) -> list[bool]:
    print("2. relations between the settings")
    conf = app.conf
    child_mib = conf.worker_max_memory_per_child / 1024
    return [
        check(
            conf.task_soft_time_limit < conf.task_time_limit,
            f"soft limit {conf.task_soft_time_limit} s < hard limit {conf.task_time_limit} s",
        ),
        check("pickle" not in conf.accept_content, f"accept_content={conf.accept_content}"),
        check(
            not (conf.task_acks_late and conf.worker_prefetch_multiplier > 1),
            "late acks with prefetch 1: a long task holds no queued messages hostage",
        ),
        check(
            conf.worker_max_memory_per_child * conf.worker_concurrency / 1024 / 1024 < 2 * 0.8,
            f"{conf.worker_concurrency} children x {child_mib:.0f} MiB stays under 80 % of the"
            " 2 GiB container limit",
        ),
    ]


def systemd_unit() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read(DEPLOY / "celery-worker@.service")
    return dict(parser["Service"])


def dockerfile() -> dict[str, list[str]]:
    """Instruction -> its arguments, for the last occurrence of each (enough for these checks)."""
    instructions: dict[str, list[str]] = {}
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            rest = rest.strip()
            instructions[keyword.upper()] = json.loads(rest) if rest.startswith("[") else [rest]
    return instructions


def check_deployment(app: Celery) -> list[bool]:
    conf = app.conf
    needed = conf.task_time_limit + SHUTDOWN_MARGIN_S
    results: list[bool] = []

    print("3a. celery-worker@.service (parsed with configparser)")
    unit = systemd_unit()
    argv = shlex.split(unit["ExecStart"])
    stop_after = int(unit["TimeoutStopSec"])
    results += [
        check(
            argv[3] == "worker" and "--detach" not in argv,
            "ExecStart runs the worker in the foreground",
        ),
        check(unit.get("KillSignal", "SIGTERM") == "SIGTERM", "KillSignal=SIGTERM: warm shutdown"),
        check(unit.get("KillMode") == "mixed", "KillMode=mixed: SIGTERM to the main process only"),
        check(stop_after >= needed, f"TimeoutStopSec={stop_after} >= {needed}"),
        check(unit.get("User", "root") != "root", f"runs as User={unit.get('User')}"),
    ]

    print("3b. Dockerfile (a line parser; the image was never built)")
    docker = dockerfile()
    cmd = docker["CMD"]
    results += [
        check(cmd[0] == "celery" and "worker" in cmd, "CMD in exec form: celery itself is PID 1"),
        check(docker.get("USER", ["root"])[0] not in {"root", "0"}, f"USER {docker['USER'][0]}"),
        check(docker.get("STOPSIGNAL", ["SIGTERM"])[0] == "SIGTERM", "STOPSIGNAL SIGTERM"),
    ]

    print("3c. worker-k8s.yaml (loaded with PyYAML; never applied to a cluster)")
    with open(DEPLOY / "worker-k8s.yaml") as handle:
        documents = {doc["kind"]: doc for doc in yaml.safe_load_all(handle)}
    pod = documents["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    trigger = documents["ScaledObject"]["spec"]["triggers"][0]
    queue = trigger["metadata"]["queueName"]
    queue_flag = next(arg for arg in container["command"] if arg.startswith("--queues="))
    limit_gib = float(container["resources"]["limits"]["memory"].removesuffix("Gi"))
    memory_gib = conf.worker_max_memory_per_child * conf.worker_concurrency / 1024 / 1024
    grace = pod["terminationGracePeriodSeconds"]
    results += [
        check(grace >= needed, f"terminationGracePeriodSeconds={grace} >= {needed}"),
        check(container["command"] == cmd, "the container runs the image's CMD, unchanged"),
        check(pod["containers"][0]["securityContext"]["runAsNonRoot"], "runAsNonRoot: true"),
        check(
            queue == queue_flag.split("=")[1] == conf.task_default_queue,
            f"KEDA scales on queue {queue!r}, the one the worker consumes",
        ),
        check(
            memory_gib < limit_gib,
            f"memory limit {limit_gib:g} GiB > {memory_gib:.2f} GiB of recycled children",
        ),
    ]
    return results


def main() -> None:
    app = load()
    changed_settings(app)
    results = check_settings(app) + check_deployment(app)
    print(f"{sum(results)} of {len(results)} checks passed")
    if not all(results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
