"""What RabbitMQ promises a Celery producer: durable queues, persistent messages, confirms.

No worker runs here: reliability starts at the producer. The example
1. publishes one order task and reads it back to show the queue is durable and the
   message persistent (delivery_mode 2), which is what lets both survive a broker restart;
2. publishes three tasks to a queue capped at two messages (x-overflow=reject-publish),
   first without publisher confirms (every call returns, one task is silently gone),
   then with confirm_publish=True (the rejected publish raises, caused by MessageNacked).
"""

import logging
import os
from typing import Any

from amqp.exceptions import PreconditionFailed
from celery import Celery
from kombu import Connection, Queue
from kombu.exceptions import OperationalError

RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
NS = f"s7_9_confirms_{os.getpid()}"
log = logging.getLogger("orders.publisher")


def place_order(order_id: str) -> None:
    """The task body never runs in this example; only its messages matter."""
    log.info("placing %s", order_id)


def make_app(queue: Queue, confirm: bool) -> Celery:
    app = Celery(f"{NS}_{queue.name}", broker=RABBITMQ_URL)
    app.conf.update(
        task_queues=[queue],
        task_default_queue=queue.name,
        task_default_exchange=NS,
        task_ignore_result=True,
        broker_transport_options={"confirm_publish": confirm},
    )
    app.task(name="orders.place")(place_order)
    return app


def depth(name: str) -> int:
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel  # the stubs' StdChannel lacks these methods
        return int(channel.queue_declare(name, passive=True).message_count)


def durable_and_persistent() -> None:
    print("1. What Celery declares and publishes by default")
    orders = Queue(f"{NS}.orders")  # kombu's default: durable=True
    app = make_app(orders, confirm=False)
    app.tasks["orders.place"].delay("ORD-1001")
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel
        message = channel.basic_get(orders.name, no_ack=True)
        print(f"   queue durable: {orders.durable}")
        print(f"   message delivery_mode: {message.properties['delivery_mode']} (2 = persistent)")
        try:  # redeclaring it as transient is refused: the broker remembers it as durable
            Queue(orders.name, durable=False, channel=connection.channel()).declare()
        except PreconditionFailed as exc:
            print(f"   redeclare durable=False: {str(exc.reply_text).split(' for ')[0]}")


def capped_queue(confirm: bool) -> None:
    name = f"{NS}.capped_{'confirmed' if confirm else 'plain'}"
    capped = Queue(
        name, queue_arguments={"x-max-length": 2, "x-overflow": "reject-publish"}
    )
    task = make_app(capped, confirm).tasks["orders.place"]
    for order_id in ("ORD-2001", "ORD-2002", "ORD-2003"):
        try:
            # retry=False: kombu treats MessageNacked as recoverable and would retry it
            task.apply_async((order_id,), retry=False)
            print(f"   {order_id}: apply_async returned normally")
        except OperationalError as exc:  # kombu wraps amqp's MessageNacked
            log.warning("broker refused %s; keeping it for a later retry", order_id)
            cause = type(exc.__cause__).__name__
            print(f"   {order_id}: {type(exc).__name__} (cause: {cause}); caller knows it was lost")
    print(f"   messages in the queue: {depth(name)}")


def clean_up() -> None:
    with Connection(RABBITMQ_URL) as connection:
        channel: Any = connection.default_channel
        for suffix in ("orders", "capped_plain", "capped_confirmed"):
            channel.queue_delete(f"{NS}.{suffix}")
        channel.exchange_delete(NS)


def main() -> None:
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    durable_and_persistent()
    print("\n2. Three orders into a queue capped at 2, without publisher confirms")
    capped_queue(confirm=False)
    print("\n3. The same with broker_transport_options={'confirm_publish': True}")
    capped_queue(confirm=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        clean_up()
