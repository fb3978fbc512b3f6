"""Production settings for each broker, built from the environment and checked offline.

`celery_settings(broker_url)` returns the settings a billing service uses on either broker;
the example builds both apps and prints what kombu will actually use. Nothing connects to a
broker here: the checks read configuration only.
"""

import logging
import os
from typing import Any

from celery import Celery

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
LONGEST_COUNTDOWN_S = 2 * 3600  # reminders are scheduled up to two hours ahead
LONGEST_ACKS_LATE_TASK_S = 20 * 60
log = logging.getLogger("billing.settings")


def celery_settings(broker_url: str) -> dict[str, Any]:
    common: dict[str, Any] = {
        "broker_url": broker_url,
        "task_acks_late": True,  # section 7.7: tasks are idempotent
        "worker_prefetch_multiplier": 1,  # tasks run for seconds, not microseconds
        "broker_connection_retry_on_startup": True,
    }
    if broker_url.startswith("redis"):
        # Redeliveries wait for this, so it must outlast any countdown and any acks_late task.
        visibility = 2 * max(LONGEST_COUNTDOWN_S, LONGEST_ACKS_LATE_TASK_S)
        return common | {
            "broker_transport_options": {
                "visibility_timeout": visibility,
                "global_keyprefix": "billing:",  # one namespace per service/environment
            },
        }
    if broker_url.startswith(("amqp", "pyamqp")):
        return common | {
            # A refused publish raises instead of vanishing (see the confirms example).
            "broker_transport_options": {"confirm_publish": True},
            # Quorum queues replicate across a cluster; classic is Celery's default.
            "task_default_queue_type": "quorum",
        }
    raise ValueError(f"unsupported broker URL scheme: {broker_url.split(':', 1)[0]}")


def describe(name: str, url: str) -> None:
    app = Celery("billing")
    app.conf.update(celery_settings(url))
    with app.connection_for_write() as connection:  # built, never connected
        transport = connection.transport
        print(f"{name}: {type(transport).__module__}.Transport, driver {transport.driver_name}")
    for key in sorted(app.conf.broker_transport_options):
        print(f"   broker_transport_options[{key!r}] = {app.conf.broker_transport_options[key]!r}")
    print(f"   task_default_queue_type = {app.conf.task_default_queue_type!r}")
    print(f"   task_acks_late = {app.conf.task_acks_late}, "
          f"prefetch multiplier = {app.conf.worker_prefetch_multiplier}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    describe("Redis", REDIS_URL)
    describe("RabbitMQ", RABBITMQ_URL)
    try:
        celery_settings("sqs://")
    except ValueError as exc:
        log.warning("refused: %s", exc)


if __name__ == "__main__":
    main()
