"""The payments worker's retry policy: backoff math, failure decisions and a settings check.

Everything here is plain Python over plain values, so the policy can be reviewed and tested
before a single task is deployed. Celery's defaults are spelled out in DEFAULTS.
"""

from __future__ import annotations

import random  # noqa: F401  (you will need it)
from typing import Any

# What Celery uses when a task does not set the option (and, for the broker, kombu's Redis
# transport default for visibility_timeout).
DEFAULTS: dict[str, Any] = {
    "broker": "rabbitmq",  # "rabbitmq" or "redis"
    "acks_late": False,
    "reject_on_worker_lost": False,
    "dead_letter": False,  # the task raises Reject(requeue=False) when its retries run out
    "soft_time_limit": None,  # seconds, or None for no limit
    "time_limit": None,
    "max_retries": 3,  # None means retry for ever
    "default_retry_delay": 180,  # seconds, used when there is no backoff
    "retry_backoff": 0,  # 0 for no backoff, else the factor in seconds
    "retry_backoff_max": 600,
    "visibility_timeout": 3600,  # Redis broker only
}


def backoff_delays(
    retries: int,
    factor: int = 1,
    maximum: int = 600,
    jitter: bool = True,
    seed: int | None = None,
) -> list[int]:
    """The countdowns, in whole seconds, before each of `retries` retries.

    The n-th retry (n = 0 for the first) waits min(maximum, factor * 2**n) seconds. With
    jitter, it waits a random whole number of seconds from 0 to that value inclusive, drawn
    in order from random.Random(seed): the same numbers Celery's autoretry draws after
    random.seed(seed). Raises ValueError when retries < 0, factor < 1 or maximum < 0.
    """
    # TODO: validate the arguments, then build the list with one random.Random(seed).
    raise NotImplementedError


def decide(error: str, retries: int, policy: dict[str, Any]) -> str:
    """What the task does when the attempt with request.retries == `retries` raises `error`.

    policy["retry_on"] lists the exception names worth retrying; policy["max_retries"] is an
    int or None (no limit). Returns "retry" for a listed error with retries left,
    "dead-letter" for a listed error with none left, and "fail" for any other error.
    """
    # TODO: errors not in policy["retry_on"] fail; the others retry while retries are left.
    raise NotImplementedError


def longest_retry_delay(settings: dict[str, Any]) -> float:
    """The longest countdown any retry of this task can get, in seconds.

    `settings` is complete (DEFAULTS merged with the task's own values). Without backoff
    (retry_backoff is 0) every retry waits default_retry_delay. With backoff, the longest wait
    is the un-jittered one before the last retry, min(retry_backoff_max, retry_backoff *
    2**(max_retries - 1)); it is retry_backoff_max when max_retries is None, 0 when it is 0.
    """
    # TODO: default_retry_delay without backoff; otherwise the delay of the last retry,
    # capped by retry_backoff_max (which is also the answer when max_retries is None).
    raise NotImplementedError


def check_config(config: dict[str, Any]) -> list[str]:
    """The problems in one task's settings, as sorted codes; an empty list when there are none.

    Missing keys take their values from DEFAULTS. The codes are:
    - "soft-limit-not-below-hard-limit": both limits set and soft >= hard
    - "unbounded-retries": max_retries is None
    - "reject-needs-acks-late": dead_letter without acks_late
    - "worker-lost-needs-acks-late": reject_on_worker_lost without acks_late
    - "task-outlives-visibility-timeout": Redis, acks_late, and no time_limit or one that is
      not below visibility_timeout
    - "retry-delay-outlives-visibility-timeout": Redis, and the longest retry countdown is not
      below visibility_timeout
    """
    # TODO: merge config over DEFAULTS, collect the codes that apply, return them sorted.
    raise NotImplementedError
