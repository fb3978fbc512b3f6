"""What JSON does to task arguments, and why a task takes an order id, not an order.

The worker runs this module too: it loads orders from PostgreSQL by id, in its own session.
"""

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from uuid import UUID

import redis
from celery import Celery
from celery.utils.log import get_task_logger
from kombu.exceptions import EncodeError
from kombu.utils.json import dumps
from sqlalchemy import Numeric, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
NAMESPACE = os.environ.setdefault("S7_3_ARGUMENTS", f"s7_3_arguments_{os.getpid()}")

app = Celery("task_arguments", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    task_default_queue=NAMESPACE,
    broker_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
    result_backend_transport_options={"global_keyprefix": f"{NAMESPACE}:"},
)
logger = get_task_logger(__name__)
engine = create_engine(POSTGRES_URL, pool_size=2)


class OrderStatus(StrEnum):
    PAID = "paid"
    CANCELLED = "cancelled"


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "s7_3_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_email: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))


@app.task
def describe_arguments(*args: Any, **kwargs: Any) -> list[str]:
    """Report the type and value of every argument as the worker received it."""
    received = [*args, *kwargs.values()]
    return [f"{type(value).__name__} {value!r}" for value in received]


@app.task
def ship_from_snapshot(order: dict[str, Any]) -> str:
    """Wrong: trusts a copy of the order taken when the message was sent."""
    if order["status"] != "paid":
        return f"order {order['id']} is {order['status']}: not shipped"
    logger.info("shipping order %s", order["id"])
    return f"order {order['id']} shipped (the copy said {order['status']!r})"


@app.task
def ship_order(order_id: int) -> str:
    """Right: loads the order by id, in the worker's own session, when the task runs."""
    with Session(engine) as session:
        order = session.get(Order, order_id)
        if order is None:
            return f"order {order_id} not found"
        if order.status != "paid":
            return f"order {order_id} is {order.status}: not shipped"
        logger.info("shipping order %s", order_id)
        return f"order {order_id} shipped"


@app.task
def order_total(order_id: int) -> Decimal:
    """A Decimal return value goes through the same JSON serializer as arguments do."""
    with Session(engine) as session:
        order = session.get(Order, order_id)
        return order.total if order is not None else Decimal("0")


@contextmanager
def running_worker(log_path: Path) -> Iterator[None]:
    command = [
        *(sys.executable, "-m", "celery", "-A", "task_arguments", "worker"),
        *("--queues", NAMESPACE, "--hostname", f"{NAMESPACE}@%h"),
        *("--pool", "solo", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=stop_with_parent
        )
        try:
            yield
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def set_status(order_id: int, status: str) -> None:
    with Session(engine) as session, session.begin():
        order = session.get(Order, order_id)
        assert order is not None
        order.status = status


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(
            Order(id=42, customer_email="li@example.com", status="paid", total=Decimal("59.97"))
        )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with tempfile.TemporaryDirectory() as folder, running_worker(Path(folder) / "worker.log"):
            send_arguments()
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()
        keys = list(client.scan_iter(match=f"{NAMESPACE}*"))
        if keys:
            client.delete(*keys)
        client.close()


def send_arguments() -> None:
    print("1. Sent by the caller -> received by the worker (the default JSON serializer):")
    sent: list[Any] = [
        ("MUG-01", 2),
        {1042: "gift wrap"},
        datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        datetime(2026, 3, 1, 9, 30),
        Decimal("19.99"),
        date(2026, 3, 1),
        UUID("12345678-1234-5678-1234-567812345678"),
        OrderStatus.PAID,
    ]
    received = describe_arguments.delay(*sent).get(timeout=20)
    for value, arrived in zip(sent, received, strict=True):
        print(f"   {type(value).__name__:<11} {value!r}\n{'':>15}-> {arrived}")

    print("2. On the wire, Decimal and datetime travel inside a kombu envelope:")
    print(f"   {dumps([Decimal('19.99'), datetime(2026, 3, 1, 9, 30, tzinfo=UTC)])}")

    print("3. Values JSON cannot carry fail in the caller, before anything is sent:")
    order = Order(id=42, customer_email="li@example.com", status="paid", total=Decimal("59.97"))
    for label, argument in (("a set of SKUs", {"MUG-01", "TEA-07"}), ("an ORM object", order)):
        try:
            describe_arguments.delay(argument)
        except EncodeError as error:
            print(f"   {label}: EncodeError: {error}")

    print("4. Pass the id: the worker reads the row as it is when the task runs:")
    snapshot = {"id": order.id, "status": order.status}
    from_snapshot = ship_from_snapshot.apply_async((snapshot,), countdown=1)
    from_id = ship_order.apply_async((42,), countdown=1)
    set_status(42, "cancelled")  # the customer cancels while both messages wait
    print(f"   snapshot: {from_snapshot.get(timeout=10)}")
    print(f"   id:       {from_id.get(timeout=10)}")

    print("5. Return values use the same serializer:")
    total = order_total.delay(42).get(timeout=10)
    print(f"   order_total(42) -> {type(total).__name__} {total}")


def stop_with_parent() -> None:
    """Run in the worker's process before it starts: on Linux, ask the kernel to send it SIGTERM
    if this script dies without reaching its `finally` (killed at a timeout, for instance)."""
    import ctypes
    import signal

    if sys.platform == "linux":
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


if __name__ == "__main__":
    main()
