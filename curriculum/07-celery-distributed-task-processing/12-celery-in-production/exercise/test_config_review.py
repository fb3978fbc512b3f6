"""Behavioural tests for config_review.review(): each rule at its boundary, and the order."""

from __future__ import annotations

from typing import Any

from config_review import review

GOOD_SETTINGS: dict[str, Any] = {
    "broker_url": "amqps://billing:secret@rabbitmq.internal:5671/billing",
    "accept_content": ["json"],
    "task_acks_late": True,
    "task_time_limit": 600,
    "task_soft_time_limit": 540,
    "worker_prefetch_multiplier": 1,
    "worker_concurrency": 4,
    "worker_max_memory_per_child": 350_000,
}
GOOD_DEPLOYMENT: dict[str, Any] = {
    "kind": "systemd",
    "stop_timeout_s": 660,
    "kill_mode": "mixed",
    "memory_limit_mib": 2048,
    "cpus": 4,
    "runs_as_root": False,
}


def codes(settings: dict[str, Any], deployment: dict[str, Any] | None = None) -> list[str]:
    findings = review(GOOD_SETTINGS | settings, deployment or GOOD_DEPLOYMENT)
    return [finding["code"] for finding in findings]


def test_a_sound_production_config_has_no_findings() -> None:
    assert review(GOOD_SETTINGS, GOOD_DEPLOYMENT) == [], (
        "the reference billing config is sound: review() must return an empty list for it"
    )


def test_it_flags_pickle_by_name_or_by_content_type() -> None:
    assert "pickle-accepted" in codes({"accept_content": ["json", "pickle"]}), (
        "accept_content with 'pickle' lets anyone who can publish run code on the workers"
    )
    mime = ["application/x-python-serialize"]
    assert "pickle-accepted" in codes({"accept_content": mime}), (
        "accept_content also takes content types; application/x-python-serialize is pickle"
    )


def test_a_missing_hard_limit_is_a_warning_and_uses_celerys_default() -> None:
    settings = dict(GOOD_SETTINGS)
    del settings["task_time_limit"], settings["task_soft_time_limit"]
    findings = review(settings, GOOD_DEPLOYMENT)
    assert [(f["code"], f["severity"]) for f in findings] == [("no-hard-time-limit", "warning")], (
        "without task_time_limit (Celery's default is None) expect exactly one warning, "
        f"no-hard-time-limit; got {findings}"
    )


def test_the_soft_limit_must_be_strictly_below_the_hard_limit() -> None:
    assert "soft-limit-not-below-hard" in codes({"task_soft_time_limit": 600}), (
        "a soft limit equal to the hard limit leaves the task no time to clean up"
    )
    assert "soft-limit-not-below-hard" not in codes({"task_soft_time_limit": 599})


def test_the_stop_timeout_must_cover_the_hard_limit_plus_the_margin() -> None:
    assert codes({}, GOOD_DEPLOYMENT | {"stop_timeout_s": 660}) == [], (
        "660 s is exactly task_time_limit 600 + STOP_MARGIN_S 60: that is enough"
    )
    findings = review(GOOD_SETTINGS, GOOD_DEPLOYMENT | {"stop_timeout_s": 659})
    assert [f["code"] for f in findings] == ["stop-timeout-too-short"], (
        f"659 s is one second short of 660; got {findings}"
    )
    message = findings[0]["message"]
    assert "659" in message and "660" in message, (
        f"the message should name the timeout and what is needed: {message!r}"
    )


def test_systemd_needs_kill_mode_mixed_and_kubernetes_has_no_kill_mode() -> None:
    default_mode = {k: v for k, v in GOOD_DEPLOYMENT.items() if k != "kill_mode"}
    assert codes({}, default_mode) == ["kill-mode-not-mixed"], (
        "a systemd unit without KillMode uses control-group, which SIGTERMs the pool children"
    )
    kubernetes = default_mode | {"kind": "kubernetes"}
    assert codes({}, kubernetes) == [], "Kubernetes signals PID 1 only; kill_mode is systemd's"


def test_redis_visibility_timeout_must_exceed_the_hard_limit_for_late_acks() -> None:
    redis = {"broker_url": "rediss://redis.internal:6380/0", "task_time_limit": 3600,
             "task_soft_time_limit": 3500}  # fmt: skip
    slow = GOOD_DEPLOYMENT | {"stop_timeout_s": 3700}
    assert "visibility-timeout-too-short" in codes(redis, slow), (
        "kombu's default visibility_timeout is 3600 s; a 3600 s acks_late task is redelivered"
    )
    longer = redis | {"broker_transport_options": {"visibility_timeout": 7200}}
    assert "visibility-timeout-too-short" not in codes(longer, slow)
    early = redis | {"task_acks_late": False}
    assert "visibility-timeout-too-short" not in codes(early, slow), (
        "the rule is about late acknowledgement: an early-acked message is gone once it starts"
    )
    assert "visibility-timeout-too-short" not in codes(
        {"task_time_limit": 3600, "task_soft_time_limit": 3500}, slow
    ), "RabbitMQ has no visibility timeout"


def test_prefetch_above_one_is_a_warning_only_for_long_tasks() -> None:
    assert "prefetch-with-long-tasks" in codes({"worker_prefetch_multiplier": 4}), (
        "tasks of up to 600 s with prefetch 4: reserved messages wait behind a busy child"
    )
    short = {"worker_prefetch_multiplier": 4, "task_time_limit": 59, "task_soft_time_limit": 50}
    assert "prefetch-with-long-tasks" not in codes(short), "below LONG_TASK_S prefetch is fine"
    default = dict(GOOD_SETTINGS)
    del default["worker_prefetch_multiplier"]
    found = [f["code"] for f in review(default, GOOD_DEPLOYMENT)]
    assert found == ["prefetch-with-long-tasks"], f"Celery's default multiplier is 4; got {found}"


def test_a_remote_broker_without_tls_is_a_warning() -> None:
    plain = {"broker_url": "amqp://billing:secret@rabbitmq.internal:5672/billing"}
    assert codes(plain) == ["broker-without-tls"], "amqp:// to another host sends the password"
    assert codes(plain | {"broker_use_ssl": {"cert_reqs": 2}}) == [], (
        "broker_use_ssl turns TLS on for an amqp:// URL"
    )
    local = {"broker_url": "redis://127.0.0.1:6379/0", "task_acks_late": False}
    assert codes(local) == [], "a broker on the same host is not flagged"


def test_recycled_children_must_fit_the_memory_limit() -> None:
    findings = review(GOOD_SETTINGS | {"worker_max_memory_per_child": 512_000}, GOOD_DEPLOYMENT)
    assert [f["code"] for f in findings] == ["memory-over-limit"], (
        "4 children x 500 MiB = 2000 MiB is over 80 % of 2048 MiB (1638 MiB)"
    )
    assert "2000" in findings[0]["message"], f"name the total: {findings[0]['message']!r}"
    no_concurrency = {"worker_concurrency": None, "worker_max_memory_per_child": 600_000}
    assert "memory-over-limit" in codes(no_concurrency, GOOD_DEPLOYMENT | {"cpus": 3}), (
        "with worker_concurrency None Celery starts one child per CPU: 3 x 586 MiB > 1638 MiB"
    )
    assert codes({}, GOOD_DEPLOYMENT | {"memory_limit_mib": None}) == [], "no limit, no check"


def test_running_as_root_is_an_error() -> None:
    assert codes({}, GOOD_DEPLOYMENT | {"runs_as_root": True}) == ["runs-as-root"]


def test_errors_come_first_then_warnings_each_sorted_by_code() -> None:
    bad_settings = {
        "accept_content": ["pickle"],
        "broker_url": "amqp://guest:guest@rabbitmq.internal//",
        "worker_prefetch_multiplier": 4,
    }
    bad_deployment = GOOD_DEPLOYMENT | {"runs_as_root": True, "kill_mode": "process"}
    findings = review(GOOD_SETTINGS | bad_settings, bad_deployment)
    assert [(f["severity"], f["code"]) for f in findings] == [
        ("error", "kill-mode-not-mixed"),
        ("error", "pickle-accepted"),
        ("error", "runs-as-root"),
        ("warning", "broker-without-tls"),
        ("warning", "prefetch-with-long-tasks"),
    ], f"errors first, then warnings, each group by code; got {findings}"
    assert all(set(f) == {"code", "severity", "message"} and f["message"] for f in findings), (
        "every finding has exactly code, severity and a non-empty message"
    )
