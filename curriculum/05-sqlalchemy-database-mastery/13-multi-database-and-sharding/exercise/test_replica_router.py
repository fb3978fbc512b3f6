import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from replica_router import Base, Order, ReplicaSet, RoutingSession
from sqlalchemy import (
    Engine,
    ForeignKey,
    String,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
# The replicas are the same database reached through read-only connections: a write that
# is routed to one fails with "cannot execute ... in a read-only transaction".
READ_ONLY = {"options": "-c default_transaction_read_only=on"}


class DispatchBase(DeclarativeBase):
    pass


class Courier(DispatchBase):
    __tablename__ = "s5_13_ex_couriers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    deliveries: Mapped[list["Delivery"]] = relationship(back_populates="courier")


class Delivery(DispatchBase):
    """Deleting a courier unassigns its deliveries: the flush must load them to do so."""

    __tablename__ = "s5_13_ex_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    courier_id: Mapped[int | None] = mapped_column(ForeignKey(Courier.id))
    courier: Mapped[Courier | None] = relationship(back_populates="deliveries")


@pytest.fixture(scope="module")
def engines() -> Iterator[dict[str, Engine]]:
    built = {
        "primary": create_engine(POSTGRES_URL, pool_size=2),
        "replica_a": create_engine(POSTGRES_URL, pool_size=2, connect_args=READ_ONLY),
        "replica_b": create_engine(POSTGRES_URL, pool_size=2, connect_args=READ_ONLY),
    }
    for metadata in (Base.metadata, DispatchBase.metadata):
        metadata.drop_all(built["primary"])
        metadata.create_all(built["primary"])
    with built["primary"].begin() as conn:
        conn.execute(insert(Order), [{"customer": "Haugen AS", "total": 120}])
        conn.execute(insert(Courier), [{"id": 1, "name": "Nilsen Bud"}])
        conn.execute(insert(Delivery), [{"id": 1, "courier_id": 1}, {"id": 2, "courier_id": 1}])
    yield built
    for metadata in (Base.metadata, DispatchBase.metadata):
        metadata.drop_all(built["primary"])
    for engine in built.values():
        engine.dispose()


@pytest.fixture
def trail(engines: dict[str, Engine]) -> Iterator[list[str]]:
    """The name of the engine that ran each statement, in order."""
    calls: list[str] = []
    listeners = []
    for name, engine in engines.items():

        def record(conn: Any, cursor: Any, statement: str, *_: Any, name: str = name) -> None:
            calls.append(name)

        event.listen(engine, "before_cursor_execute", record)
        listeners.append((engine, record))
    yield calls
    for engine, record in listeners:
        event.remove(engine, "before_cursor_execute", record)
    with engines["primary"].begin() as conn:
        conn.execute(delete(Order).where(Order.customer != "Haugen AS"))


@pytest.fixture
def replica_set(engines: dict[str, Engine]) -> ReplicaSet:
    return ReplicaSet(engines["primary"], [engines["replica_a"], engines["replica_b"]])


def count_orders() -> Any:
    return select(func.count()).select_from(Order)


def test_a_plain_select_runs_on_the_first_replica(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        session.scalar(count_orders())
    assert trail == ["replica_a"], "a SELECT with no write before it belongs on a replica"


def test_a_flush_runs_on_the_primary(replica_set: ReplicaSet, trail: list[str]) -> None:
    with RoutingSession(replica_set) as session:
        session.add(Order(customer="Okafor Ltd", total=Decimal("95.50")))
        session.flush()
    assert trail == ["primary"], "the INSERT of a flush must go to the primary"


def test_a_select_that_the_flush_itself_emits_runs_on_the_primary(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        courier = session.get_one(Courier, 1)
        session.delete(courier)
        session.flush()  # loads the courier's deliveries, sets their courier_id to NULL, deletes
        session.rollback()
    assert trail[0] == "replica_a", "the get() before any write is a plain read"
    assert len(trail) >= 3 and set(trail[1:]) == {"primary"}, (
        f"statements of the flush ran on {trail[1:]}: the SELECT that loads the deliveries "
        "comes with a real Select as `clause`, so only `self._flushing` tells get_bind() it "
        "belongs to the write; on a lagging replica it could miss a delivery and the DELETE "
        "would then fail on its foreign key"
    )


def test_reads_after_a_write_stay_on_the_primary_until_the_transaction_ends(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        session.add(Order(customer="Okafor Ltd", total=Decimal("95.50")))
        session.flush()
        seen = session.scalar(count_orders())
        assert trail == ["primary", "primary"], (
            "after a write, the same transaction must read from the primary, or it cannot "
            "see its own INSERT"
        )
        assert seen == 2
        session.commit()
        session.scalar(count_orders())
    assert trail[-1] == "replica_a", "after the commit, reads go back to the replicas"


def test_a_rollback_also_ends_the_pin_to_the_primary(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        session.execute(update(Order).values(status="checked"))
        session.rollback()
        session.scalar(count_orders())
    assert trail == ["primary", "replica_a"], "the pin must end with the transaction"


def test_select_for_update_runs_on_the_primary(replica_set: ReplicaSet, trail: list[str]) -> None:
    with RoutingSession(replica_set) as session:
        session.scalars(select(Order).with_for_update()).all()
    assert trail == ["primary"], (
        "a locking read on a replica fails with 'cannot execute SELECT FOR UPDATE in a "
        "read-only transaction'; route it to the primary"
    )


def test_core_update_and_delete_run_on_the_primary(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        session.execute(update(Order).where(Order.id == -1).values(status="x"))
        session.commit()
        session.execute(delete(Order).where(Order.id == -1))
        session.commit()
    assert trail == ["primary", "primary"], "UPDATE and DELETE statements are writes"


def test_text_statements_run_on_the_primary(replica_set: ReplicaSet, trail: list[str]) -> None:
    with RoutingSession(replica_set) as session:
        session.execute(text("SELECT 1"))
    assert trail == ["primary"], (
        "text() could hold anything, including a write: route what you cannot inspect to "
        "the primary"
    )


def test_use_primary_bind_argument_forces_the_primary(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        session.execute(count_orders(), bind_arguments={"use_primary": True})
    assert trail == ["primary"], "bind_arguments={'use_primary': True} is the caller's override"


def test_one_transaction_reads_from_one_replica(replica_set: ReplicaSet, trail: list[str]) -> None:
    with RoutingSession(replica_set) as session:
        session.scalar(count_orders())
        session.scalars(select(Order)).all()
        session.scalar(count_orders())
    assert trail == ["replica_a"] * 3, (
        "every read of one transaction must use the same replica: two replicas lag by "
        "different amounts, and each extra replica is one more connection held"
    )


def test_successive_transactions_take_the_replicas_in_turn(
    replica_set: ReplicaSet, trail: list[str]
) -> None:
    with RoutingSession(replica_set) as session:
        for _ in range(3):
            session.scalar(count_orders())
            session.commit()
    assert trail == ["replica_a", "replica_b", "replica_a"], "transactions rotate over replicas"


def test_a_replica_marked_down_gets_no_reads_until_marked_up(
    replica_set: ReplicaSet, engines: dict[str, Engine], trail: list[str]
) -> None:
    replica_set.mark_down(engines["replica_a"])
    with RoutingSession(replica_set) as session:
        for _ in range(2):
            session.scalar(count_orders())
            session.commit()
        assert trail == ["replica_b", "replica_b"], "a replica marked down must get no reads"
        replica_set.mark_up(engines["replica_a"])
        for _ in range(2):
            session.scalar(count_orders())
            session.commit()
    assert sorted(trail[2:]) == ["replica_a", "replica_b"], "mark_up() puts it back in turn"


def test_with_every_replica_down_reads_fall_back_to_the_primary(
    replica_set: ReplicaSet, engines: dict[str, Engine], trail: list[str]
) -> None:
    replica_set.mark_down(engines["replica_a"])
    replica_set.mark_down(engines["replica_b"])
    with RoutingSession(replica_set) as session:
        assert session.scalar(count_orders()) == 1
    assert trail == ["primary"], "with no healthy replica, the primary serves the reads"


def test_mark_down_refuses_an_engine_that_is_not_a_replica(
    replica_set: ReplicaSet, engines: dict[str, Engine]
) -> None:
    with pytest.raises(ValueError):
        replica_set.mark_down(engines["primary"])
