from typing import Any

import pytest
from celery import Celery
from celery.exceptions import QueueNotFound
from celery_settings import build_settings, route_task

BASE_ENV = {"BILLING_BROKER_URL": "amqp://billing:secret@rabbitmq:5672/billing"}


def settings_for(**overrides: str) -> dict[str, Any]:
    return build_settings({**BASE_ENV, **overrides})


def configured_app(settings: dict[str, Any]) -> Celery:
    """A real Celery app with the settings applied; nothing here connects to a broker."""
    app = Celery("billing", set_as_current=False)
    app.conf.update(settings)
    return app


def test_first_webhook_attempt_is_interactive_and_retries_go_to_batch() -> None:
    first = route_task("billing.webhooks.deliver", [], {"endpoint": "https://h"}, {})
    explicit_first = route_task("billing.webhooks.deliver", [], {"attempt": 1}, {})
    third = route_task("billing.webhooks.deliver", [], {"attempt": 3}, {})
    assert first == {"queue": "interactive"}, "with no attempt kwarg it is the first attempt"
    assert explicit_first == {"queue": "interactive"}
    assert third == {"queue": "batch"}, (
        "retries of a failing endpoint must leave the interactive lane, or a dead endpoint "
        "fills it with retries"
    )


def test_enterprise_reports_get_a_rabbitmq_priority() -> None:
    route = route_task(
        "billing.reports.monthly_statement", [], {"tenant": "acme", "tenant_tier": "enterprise"}, {}
    )
    assert route == {"queue": "batch", "priority": 6}


def test_other_calls_fall_through_to_the_static_routes() -> None:
    for name, kwargs in [
        ("billing.reports.monthly_statement", {"tenant_tier": "starter"}),
        ("billing.emails.send_receipt", {"order_id": 1001}),
        ("billing.invoices.renumber", {}),
    ]:
        assert route_task(name, [], kwargs, {}) is None, (
            f"{name} with {kwargs}: return None so the next router (the task_routes map) or "
            "the default queue decides"
        )


def test_static_routes_and_queues_work_in_a_real_celery_router() -> None:
    app = configured_app(settings_for())
    router = app.amqp.router
    expected = {
        "billing.emails.send_receipt": "interactive",
        "billing.reports.monthly_statement": "batch",
        "billing.invoices.renumber": "default",
    }
    for name, queue in expected.items():
        routed = router.route({}, name, (), {})["queue"].name
        assert routed == queue, f"Celery routed {name} to {routed!r}, expected {queue!r}"


def test_a_misspelt_queue_name_raises_instead_of_creating_a_queue() -> None:
    app = configured_app(settings_for())
    with pytest.raises(QueueNotFound, match="missing from task_queues"):
        app.amqp.router.route({"queue": "interactve"}, "billing.emails.send_receipt", (), {})


def test_the_batch_queue_is_declared_with_a_max_priority() -> None:
    queues = configured_app(settings_for()).amqp.queues
    assert set(queues) == {"default", "interactive", "batch"}
    assert queues["batch"].queue_arguments == {"x-max-priority": 10}, (
        "RabbitMQ ignores message priorities on a queue declared without x-max-priority"
    )
    assert not queues["interactive"].queue_arguments


def test_defaults_are_json_only_with_limits_and_short_task_profile() -> None:
    settings = settings_for()
    assert settings["broker_url"] == BASE_ENV["BILLING_BROKER_URL"]
    assert settings["task_serializer"] == "json"
    assert settings["accept_content"] == ["json"]
    assert settings["result_accept_content"] == ["json"]
    assert settings["task_compression"] is None
    assert (settings["task_soft_time_limit"], settings["task_time_limit"]) == (240, 300)
    assert settings["worker_prefetch_multiplier"] == 4
    assert settings["task_acks_late"] is False
    assert settings["task_reject_on_worker_lost"] is False
    assert settings["task_create_missing_queues"] is False


def test_msgpack_is_accepted_alongside_json() -> None:
    settings = settings_for(BILLING_SERIALIZER=" MsgPack ")
    assert settings["task_serializer"] == "msgpack"
    assert settings["accept_content"] == ["json", "msgpack"], (
        "keep json accepted: messages already queued, and other producers, still use it"
    )


def test_pickle_is_refused_with_the_reason() -> None:
    with pytest.raises(ValueError, match="pickle"):
        settings_for(BILLING_SERIALIZER="pickle")
    with pytest.raises(ValueError):
        settings_for(BILLING_SERIALIZER="yaml")


def test_compression_is_validated() -> None:
    assert settings_for(BILLING_COMPRESSION="zlib")["task_compression"] == "zlib"
    assert settings_for(BILLING_COMPRESSION="  ")["task_compression"] is None
    with pytest.raises(ValueError):
        settings_for(BILLING_COMPRESSION="snappy")


def test_the_soft_limit_must_stay_below_the_hard_limit() -> None:
    only_soft = settings_for(BILLING_SOFT_LIMIT="100")
    assert (only_soft["task_soft_time_limit"], only_soft["task_time_limit"]) == (100, 160)
    both = settings_for(BILLING_SOFT_LIMIT="50", BILLING_HARD_LIMIT="55")
    assert (both["task_soft_time_limit"], both["task_time_limit"]) == (50, 55)
    for soft, hard in [("300", "300"), ("300", "200")]:
        with pytest.raises(ValueError):
            settings_for(BILLING_SOFT_LIMIT=soft, BILLING_HARD_LIMIT=hard)
    for bad in ["ten", "-5", "0", "2.5"]:
        with pytest.raises(ValueError):
            settings_for(BILLING_SOFT_LIMIT=bad)


def test_long_running_workload_reserves_one_task_and_acks_late() -> None:
    settings = settings_for(BILLING_WORKLOAD="long")
    assert settings["worker_prefetch_multiplier"] == 1
    assert settings["task_acks_late"] is True
    assert settings["task_reject_on_worker_lost"] is True
    app = configured_app(settings)
    assert app.conf.worker_prefetch_multiplier == 1, "Celery did not pick the setting up"


def test_a_missing_broker_url_is_a_clear_error() -> None:
    for env in [{}, {"BILLING_BROKER_URL": "   "}]:
        with pytest.raises(ValueError, match="BILLING_BROKER_URL"):
            build_settings(env)
