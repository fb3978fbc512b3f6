"""A pre-deploy review of a Celery worker's settings and how it is deployed.

`review()` takes the Celery settings (lowercase names, as for `app.conf.update()`) and a
description of the deployment, and returns one finding per problem. Settings that are missing
take Celery 5.7's defaults, listed in CELERY_DEFAULTS. Everything is plain data, so the review
runs in CI without a broker.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

CELERY_DEFAULTS: dict[str, Any] = {
    "accept_content": ["json"],
    "task_acks_late": False,
    "task_time_limit": None,
    "task_soft_time_limit": None,
    "worker_prefetch_multiplier": 4,
    "worker_concurrency": None,  # None: one child per CPU
    "worker_max_memory_per_child": None,  # KiB
    "broker_transport_options": {},
    "broker_use_ssl": None,
}
REDIS_VISIBILITY_TIMEOUT_DEFAULT = 3600  # seconds, kombu's Redis transport
STOP_MARGIN_S = 60  # the warm shutdown itself needs time after the longest task
LONG_TASK_S = 60  # tasks allowed to run this long should not prefetch
MEMORY_SHARE = 0.8  # recycled children may use at most this share of the memory limit
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
PICKLE = {"pickle", "application/x-python-serialize"}


def broker_address(conf: dict[str, Any]) -> tuple[str, str | None]:
    """The broker URL's scheme and host name: ("amqps", "rabbitmq.internal")."""
    parts = urlsplit(conf.get("broker_url", ""))
    return parts.scheme, parts.hostname


def review(settings: dict[str, Any], deployment: dict[str, Any]) -> list[dict[str, str]]:
    """Return findings as {"code", "severity", "message"}: errors first, then warnings, each
    group sorted by code.

    deployment keys: "kind" ("systemd" or "kubernetes"), "stop_timeout_s" (TimeoutStopSec or
    terminationGracePeriodSeconds), "kill_mode" (systemd only; missing means systemd's default,
    "control-group"), "memory_limit_mib" (or None), "cpus", "runs_as_root".

    Start from `CELERY_DEFAULTS | settings`, so a missing setting has Celery's default.
    The codes (severity), each with a message that names the numbers involved:

    - pickle-accepted (error): "pickle" or its content type is in accept_content.
    - no-hard-time-limit (warning): task_time_limit is None.
    - soft-limit-not-below-hard (error): both limits set and soft >= hard.
    - stop-timeout-too-short (error): stop_timeout_s < task_time_limit + STOP_MARGIN_S.
    - prefetch-with-long-tasks (warning): task_time_limit >= LONG_TASK_S and
      worker_prefetch_multiplier > 1.
    - kill-mode-not-mixed (error): a systemd deployment whose kill_mode is not "mixed".
    - visibility-timeout-too-short (error): a redis:// or rediss:// broker, task_acks_late,
      and visibility_timeout (broker_transport_options, default 3600) not above
      task_time_limit, or no task_time_limit at all.
    - broker-without-tls (warning): an amqp:// or redis:// broker on a host that is not
      local, and no broker_use_ssl.
    - memory-over-limit (error): worker_max_memory_per_child (KiB) x children is above
      MEMORY_SHARE of memory_limit_mib; children = worker_concurrency, or "cpus" if None.
    - runs-as-root (error): deployment["runs_as_root"] is true.
    """
    # TODO: merge the settings over CELERY_DEFAULTS; broker_address() reads the broker URL
    # TODO: check each rule above and collect one finding per problem
    # TODO: sort: errors before warnings, then by code
    return []
