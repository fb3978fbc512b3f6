"""Celery settings and a task router for the billing platform, built from its environment.

Every function takes and returns plain values (str, int, dict, list, None), so the settings can
be checked without a broker: `app.conf.update(build_settings(os.environ))` applies them.
"""

from typing import Any

QUEUES = ("default", "interactive", "batch")
SERIALIZERS = ("json", "msgpack")
COMPRESSIONS = ("gzip", "zlib", "bzip2", "lzma")
DEFAULT_SOFT_LIMIT = 240  # seconds
HARD_LIMIT_GRACE = 60  # seconds between the soft and the default hard limit
ENTERPRISE_REPORT_PRIORITY = 6  # RabbitMQ: a higher number is served first


def route_task(
    name: str,
    args: list[Any],
    kwargs: dict[str, Any],
    options: dict[str, Any],
    task: Any = None,
    **extra: Any,
) -> dict[str, Any] | None:
    """A Celery router for the decisions that depend on a call's arguments."""
    if name == "billing.webhooks.deliver":
        first_attempt = kwargs.get("attempt", 1) == 1
        return {"queue": "interactive" if first_attempt else "batch"}
    if name.startswith("billing.reports.") and kwargs.get("tenant_tier") == "enterprise":
        return {"queue": "batch", "priority": ENTERPRISE_REPORT_PRIORITY}
    return None


def _seconds(env: dict[str, str], key: str, default: int) -> int:
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{key} must be a whole number of seconds, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{key} must be positive, got {value}")
    return value


def build_settings(env: dict[str, str]) -> dict[str, Any]:
    """The Celery settings for this process, from environment variables (all strings)."""
    broker_url = env.get("BILLING_BROKER_URL", "").strip()
    if not broker_url:
        raise ValueError("BILLING_BROKER_URL is required")

    serializer = env.get("BILLING_SERIALIZER", "").strip().lower() or "json"
    if serializer == "pickle":
        raise ValueError(
            "pickle is refused: anyone who can publish to the broker could run code on workers"
        )
    if serializer not in SERIALIZERS:
        raise ValueError(f"BILLING_SERIALIZER must be one of {SERIALIZERS}, got {serializer!r}")
    accept = ["json"] if serializer == "json" else ["json", serializer]

    compression = env.get("BILLING_COMPRESSION", "").strip().lower() or None
    if compression is not None and compression not in COMPRESSIONS:
        raise ValueError(f"BILLING_COMPRESSION must be one of {COMPRESSIONS}, got {compression!r}")

    soft = _seconds(env, "BILLING_SOFT_LIMIT", DEFAULT_SOFT_LIMIT)
    hard = _seconds(env, "BILLING_HARD_LIMIT", soft + HARD_LIMIT_GRACE)
    if soft >= hard:
        raise ValueError(f"the soft limit ({soft} s) must be below the hard limit ({hard} s)")

    long_running = env.get("BILLING_WORKLOAD", "").strip().lower() == "long"
    return {
        "broker_url": broker_url,
        "task_serializer": serializer,
        "accept_content": accept,
        "result_accept_content": accept,
        "task_compression": compression,
        "task_soft_time_limit": soft,
        "task_time_limit": hard,
        "task_default_queue": "default",
        "task_create_missing_queues": False,
        "task_queues": {
            "default": {},
            "interactive": {},
            "batch": {"queue_arguments": {"x-max-priority": 10}},
        },
        "task_routes": {
            "billing.emails.*": {"queue": "interactive"},
            "billing.reports.*": {"queue": "batch"},
        },
        "worker_prefetch_multiplier": 1 if long_running else 4,
        "task_acks_late": long_running,
        "task_reject_on_worker_lost": long_running,
    }
