"""Where Celery settings come from, and which of them travel inside each task message.

No broker is needed: the in-memory transport (memory://) keeps messages in this process, so we
can publish a task and then read the raw message back, headers and all.
"""

import logging
from typing import Any, ClassVar

from celery import Celery
from celery.exceptions import ImproperlyConfigured
from kombu import Queue

log = logging.getLogger("billing.settings")


class BillingConfig:
    """Layer 2: the settings module (here a class; usually "billing.celeryconfig")."""

    broker_url = "redis://:s3cret@127.0.0.1:6379/0"
    task_serializer = "json"
    accept_content = ("json",)
    task_time_limit = 300  # hard limit for every task that sets none itself
    task_default_queue = "default"
    task_queues = (Queue("default"), Queue("interactive"), Queue("batch"), Queue("urgent"))
    task_routes: ClassVar[dict[str, dict[str, str]]] = {"billing.reports.*": {"queue": "batch"}}


class ProductionConfig(BillingConfig):
    """Production inherits everything and trades throughput for safety (sections 7.7, 7.12)."""

    worker_prefetch_multiplier = 1  # reserve one message per child, not four
    task_acks_late = True  # acknowledge after the task returns, not before it starts
    task_reject_on_worker_lost = True  # requeue the message if the child process dies
    worker_max_tasks_per_child = 1000  # replace children regularly: bounds slow leaks
    # Redis only: a message not acknowledged within an hour is delivered again.
    broker_transport_options: ClassVar[dict[str, int]] = {"visibility_timeout": 3600}


def build_app(environment: dict[str, str]) -> Celery:
    app = Celery("billing", set_as_current=False)  # layer 1: Celery's built-in defaults
    production = environment.get("BILLING_ENV") == "production"
    app.config_from_object(ProductionConfig if production else BillingConfig)  # layer 2
    # Layer 3: explicit values from the environment win over everything above.
    if "BILLING_TASK_TIME_LIMIT" in environment:
        app.conf.task_time_limit = int(environment["BILLING_TASK_TIME_LIMIT"])
    log.info("celery settings: %s", app.conf.humanize(with_defaults=False, censored=True))
    return app


def show_layers() -> None:
    print("1. Settings layers: defaults < config object < conf assignments")
    for env in ({}, {"BILLING_ENV": "production", "BILLING_TASK_TIME_LIMIT": "120"}):
        app = build_app(env)
        conf = app.conf
        print(f"   env={env}")
        print(
            f"     task_time_limit={conf.task_time_limit} "
            f"worker_prefetch_multiplier={conf.worker_prefetch_multiplier}\n"
            f"     task_acks_late={conf.task_acks_late} "
            f"task_reject_on_worker_lost={conf.task_reject_on_worker_lost}"
        )
    changed = str(build_app({}).conf.humanize(with_defaults=False, censored=True))
    broker_line = next(line for line in changed.splitlines() if line.startswith("broker_url"))
    print(f"   humanize(censored=True) masks the password:\n     {broker_line}")


def show_naming_traps() -> None:
    print("\n2. Naming traps")

    class DjangoSettings:  # Django projects: config_from_object(settings, namespace="CELERY")
        CELERY_BROKER_URL = "redis://:s3cret@127.0.0.1:6379/0"
        CELERY_TASK_TIME_LIMIT = 300

    app = Celery("billing", set_as_current=False)
    app.config_from_object(DjangoSettings, namespace="CELERY")
    print(f"   namespace='CELERY': task_time_limit={app.conf.task_time_limit}")
    leaked = next(
        line
        for line in str(app.conf.humanize(with_defaults=False, censored=True)).splitlines()
        if line.startswith("CELERY_BROKER_URL")
    )
    print(f"   ...and humanize(censored=True) leaves the prefixed key unmasked:\n     {leaked}")

    class WorkerTuning:
        worker_prefetch_multiplier = 1

    app = Celery("billing", set_as_current=False)
    app.config_from_object(BillingConfig)
    app.config_from_object(WorkerTuning)  # meant as "add these", acts as "use only these"
    print(
        "   a second config_from_object() replaces the first:\n"
        f"     task_default_queue={app.conf.task_default_queue!r}, "
        f"task_time_limit={app.conf.task_time_limit}"
    )

    class Typo:
        task_time_limt = 300  # misspelt: accepted without a word

    app = Celery("billing", set_as_current=False)
    app.config_from_object(Typo)
    print(f"   a misspelt name is silently ignored: task_time_limit={app.conf.task_time_limit}")

    class Mixed:
        task_time_limit = 300
        CELERYD_PREFETCH_MULTIPLIER = 1  # the pre-4.0 name of worker_prefetch_multiplier

    app = Celery("billing", set_as_current=False)
    app.config_from_object(Mixed)
    try:
        print(app.conf.worker_prefetch_multiplier)
    except ImproperlyConfigured as exc:
        rename = next(line for line in str(exc).splitlines() if "->" in line)
        print("   old and new names mixed: ImproperlyConfigured: Cannot mix new and old ...")
        print(f"     {' '.join(rename.split())}")


def show_messages() -> None:
    print("\n3. What each message carries (client settings travel with the message)")
    app = Celery("billing", broker="memory://localhost/", set_as_current=False)
    app.config_from_object(BillingConfig)

    @app.task(name="billing.reports.monthly_statement")
    def monthly_statement(tenant: str) -> None:
        """Routed to batch by task_routes; limits come from task_time_limit."""

    @app.task(
        name="billing.reports.tax_summary", queue="interactive", time_limit=60, soft_time_limit=50
    )
    def tax_summary(tenant: str) -> None:
        """The decorator's queue and limits beat task_routes and task_time_limit."""

    calls: list[tuple[str, Any]] = [
        ("monthly_statement.delay('acme')", lambda: monthly_statement.delay("acme")),
        ("tax_summary.delay('acme')", lambda: tax_summary.delay("acme")),
        (
            "tax_summary.apply_async(('acme',), queue='urgent', time_limit=10,\n"
            "                         soft_time_limit=8, priority=9, compression='zlib')",
            lambda: tax_summary.apply_async(
                ("acme",),
                queue="urgent",
                time_limit=10,
                soft_time_limit=8,
                priority=9,
                compression="zlib",
            ),
        ),
    ]
    with app.connection_for_read() as connection:
        channel: Any = connection.default_channel
        for label, send in calls:
            send()
            for queue in ("batch", "interactive", "urgent"):
                message = channel.basic_get(queue, no_ack=True)
                if message is not None:
                    break
            else:
                raise RuntimeError(f"{label}: the message reached no queue")
            headers = message.headers
            print(f"   {label}")
            print(
                f"     queue={queue}  timelimit={headers['timelimit']}  "
                f"priority={message.properties.get('priority')}  "
                f"compression={headers.get('compression')}"
            )

    @app.task(name="billing.reports.year_end", time_limit=10, soft_time_limit=30)
    def year_end(tenant: str) -> None:
        """A soft limit above the hard one is refused when the task is sent."""

    try:
        year_end.delay("acme")
    except ValueError as exc:
        print(f"   soft limit above the hard one: ValueError:\n     {exc}")


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    show_layers()
    show_naming_traps()
    show_messages()
