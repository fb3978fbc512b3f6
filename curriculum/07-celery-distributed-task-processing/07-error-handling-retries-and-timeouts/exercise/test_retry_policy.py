"""Tests for retry_policy: the backoff schedule is Celery's, decisions and checks are exact."""

import random

import pytest
from celery.utils.time import get_exponential_backoff_interval
from retry_policy import backoff_delays, check_config, decide

PAYMENTS = {"retry_on": ["GatewayTimeout", "ConnectionError"], "max_retries": 3}


def celery_schedule(retries: int, factor: int, maximum: int, seed: int) -> list[int]:
    """What Celery's autoretry computes, retry by retry, after random.seed(seed)."""
    random.seed(seed)
    return [get_exponential_backoff_interval(factor, n, maximum, True) for n in range(retries)]


def test_backoff_without_jitter_doubles_from_the_factor() -> None:
    assert backoff_delays(5, factor=2, jitter=False) == [2, 4, 8, 16, 32], (
        "retry n waits factor * 2**n seconds: 2, 4, 8, 16, 32 for factor 2"
    )


def test_backoff_is_capped_by_the_maximum() -> None:
    assert backoff_delays(6, factor=1, maximum=10, jitter=False) == [1, 2, 4, 8, 10, 10], (
        "once factor * 2**n passes the maximum, every later retry waits the maximum"
    )


def test_jittered_delays_are_the_ones_celery_draws_for_the_same_seed() -> None:
    for seed in (1, 7, 42, 2024):
        expected = celery_schedule(8, factor=3, maximum=120, seed=seed)
        assert backoff_delays(8, factor=3, maximum=120, jitter=True, seed=seed) == expected, (
            f"seed {seed}: full jitter draws randrange(delay + 1) for each retry in order, from "
            "one random.Random(seed); random.seed(seed) puts Celery's generator in that state"
        )


def test_jitter_stays_between_zero_and_the_unjittered_delay() -> None:
    ceiling = backoff_delays(10, factor=1, maximum=300, jitter=False)
    for seed in range(50):
        jittered = backoff_delays(10, factor=1, maximum=300, jitter=True, seed=seed)
        assert all(0 <= got <= top for got, top in zip(jittered, ceiling, strict=True)), (
            f"seed {seed}: a jittered delay must lie in [0, unjittered delay], got {jittered}"
        )


def test_no_retries_means_no_delays_and_bad_arguments_raise() -> None:
    assert backoff_delays(0) == [], "zero retries need no delays"
    with pytest.raises(ValueError):
        backoff_delays(-1)
    with pytest.raises(ValueError):
        backoff_delays(3, factor=0)
    with pytest.raises(ValueError):
        backoff_delays(3, maximum=-5)


def test_a_transient_error_with_retries_left_is_retried() -> None:
    assert decide("GatewayTimeout", 0, PAYMENTS) == "retry"
    assert decide("ConnectionError", 2, PAYMENTS) == "retry", (
        "request.retries 2 with max_retries 3: one retry is still left"
    )


def test_a_transient_error_on_the_last_attempt_is_dead_lettered() -> None:
    assert decide("GatewayTimeout", 3, PAYMENTS) == "dead-letter", (
        "request.retries 3 with max_retries 3 is the last attempt: keep the message for "
        "inspection and replay instead of dropping it"
    )


def test_any_other_error_fails_at_once() -> None:
    assert decide("CardDeclined", 0, PAYMENTS) == "fail", (
        "an error that is not in retry_on (a decline, a bug) gains nothing from a retry"
    )
    assert decide("GatewayTimeout", 0, {"max_retries": 3}) == "fail", (
        "a policy without retry_on retries nothing"
    )


def test_unlimited_retries_never_dead_letter() -> None:
    policy = {"retry_on": ["GatewayTimeout"], "max_retries": None}
    assert decide("GatewayTimeout", 10_000, policy) == "retry"


def test_celery_defaults_pass_on_both_brokers() -> None:
    assert check_config({}) == [], "Celery's defaults on RabbitMQ raise no problem"
    assert check_config({"broker": "redis"}) == [], (
        "on Redis the defaults are fine too: no acks_late, and a 180 s retry delay is well "
        "below the 3600 s visibility timeout"
    )


def test_the_soft_limit_must_be_below_the_hard_limit() -> None:
    assert check_config({"soft_time_limit": 60, "time_limit": 60}) == [
        "soft-limit-not-below-hard-limit"
    ], "with equal limits the task is killed before it can react to the soft one"
    assert check_config({"soft_time_limit": 50, "time_limit": 60}) == []
    assert check_config({"soft_time_limit": 50}) == [], "a soft limit alone is allowed"


def test_acks_late_on_redis_needs_a_hard_limit_below_the_visibility_timeout() -> None:
    redis_late = {"broker": "redis", "acks_late": True}
    assert check_config(redis_late) == ["task-outlives-visibility-timeout"], (
        "without a hard limit a task can stay unacknowledged past the visibility timeout, "
        "and Redis then hands it to a second worker"
    )
    assert check_config({**redis_late, "time_limit": 3600}) == [
        "task-outlives-visibility-timeout"
    ], "a hard limit equal to the visibility timeout is not below it"
    assert check_config({**redis_late, "time_limit": 300}) == []
    assert check_config({"broker": "rabbitmq", "acks_late": True}) == [], (
        "RabbitMQ redelivers on a lost connection, not on a timer"
    )


def test_a_retry_countdown_longer_than_the_visibility_timeout_is_flagged() -> None:
    backoff = {"broker": "redis", "retry_backoff": 1, "retry_backoff_max": 7200}
    assert check_config({**backoff, "max_retries": 13}) == [
        "retry-delay-outlives-visibility-timeout"
    ], "the 13th retry waits 2**12 = 4096 s, longer than 3600 s: the ETA message is redelivered"
    assert check_config({**backoff, "max_retries": 12}) == [], "2**11 = 2048 s is fine"
    assert check_config({"broker": "redis", "default_retry_delay": 4000}) == [
        "retry-delay-outlives-visibility-timeout"
    ], "without backoff every retry waits default_retry_delay"


def test_several_problems_come_back_sorted() -> None:
    config = {
        "broker": "redis",
        "dead_letter": True,
        "reject_on_worker_lost": True,
        "max_retries": None,
        "retry_backoff": 1,
        "visibility_timeout": 600,
    }
    assert check_config(config) == [
        "reject-needs-acks-late",
        "retry-delay-outlives-visibility-timeout",
        "unbounded-retries",
        "worker-lost-needs-acks-late",
    ], (
        "Reject and reject_on_worker_lost only act on a message that is not yet acknowledged; "
        "max_retries=None retries until retry_backoff_max (600 s), not below 600 s"
    )
