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
    """A Celery router for the decisions that depend on a call's arguments.

    Celery calls it with the task's name, positional and keyword arguments and the call's
    options, and uses the first router that returns something other than None.

    - "billing.webhooks.deliver": the first attempt (kwargs "attempt" missing or 1) goes to
      the "interactive" queue; later attempts go to "batch".
    - any "billing.reports.*" task whose kwargs have tenant_tier == "enterprise" goes to
      "batch" with priority ENTERPRISE_REPORT_PRIORITY.
    - everything else: None, so the static task_routes (or the default queue) decide.
    """
    # TODO: return a route dict ({"queue": ...} and, for enterprise reports, "priority")
    raise NotImplementedError


def build_settings(env: dict[str, str]) -> dict[str, Any]:
    """The Celery settings for this process, from environment variables (all strings).

    Variables (surrounding spaces are ignored; the serializer, compression and workload
    names are case-insensitive):
    - BILLING_BROKER_URL: required; missing or blank -> ValueError.
    - BILLING_SERIALIZER: "json" (default) or "msgpack". accept_content and
      result_accept_content are ["json"] for json and ["json", "msgpack"] for msgpack.
      "pickle" -> ValueError whose message says why; anything else -> ValueError.
    - BILLING_COMPRESSION: unset or blank -> None, else one of COMPRESSIONS (ValueError
      otherwise).
    - BILLING_SOFT_LIMIT, BILLING_HARD_LIMIT: whole positive seconds. The soft limit defaults
      to DEFAULT_SOFT_LIMIT, the hard one to soft + HARD_LIMIT_GRACE. Not a positive whole
      number, or soft >= hard -> ValueError.
    - BILLING_WORKLOAD: "long" -> worker_prefetch_multiplier 1, task_acks_late True,
      task_reject_on_worker_lost True; anything else -> 4, False, False.

    Also: task_default_queue "default"; task_create_missing_queues False; task_queues as a
    dict of the three QUEUES, where "batch" has queue_arguments {"x-max-priority": 10} and
    the others {}; task_routes sending "billing.emails.*" to interactive and
    "billing.reports.*" to batch.
    """
    # TODO: validate each variable, then return the settings dict
    raise NotImplementedError
