import os
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from session_toolkit import (
    Base,
    Invoice,
    RequestSessions,
    object_state,
    reattach,
    rollback_only_factory,
    unit_of_work,
)
from sqlalchemy import Engine, create_engine, delete, event, exc, func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL, pool_size=3, max_overflow=0, pool_timeout=5)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    yield sessionmaker(engine, expire_on_commit=False)
    with engine.begin() as conn:
        conn.execute(delete(Invoice))


def stored_numbers(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(Invoice.number).order_by(Invoice.number)))


def checked_out(engine: Engine) -> int:
    assert isinstance(engine.pool, QueuePool)
    return engine.pool.checkedout()


class StatementCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)

    def __enter__(self) -> "StatementCounter":
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def invoice(number: str, total: str = "100.00") -> Invoice:
    return Invoice(number=number, total=Decimal(total))


def test_object_state_names_each_of_the_five_states(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    draft = invoice("INV-1")
    assert object_state(draft) == "transient", "a new object no session knows is transient"
    with Session(engine) as session:  # expire_on_commit=True: commit detaches deleted objects
        session.add(draft)
        assert object_state(draft) == "pending", "after add() and before flush it is pending"
        session.flush()
        assert object_state(draft) == "persistent", "once flushed it has a row: persistent"
        session.delete(draft)
        session.flush()
        assert object_state(draft) == "deleted", "a flushed delete before commit is 'deleted'"
        session.commit()
    assert object_state(draft) == "detached", "after the delete commits, the object is detached"


def test_unit_of_work_commits_when_the_block_succeeds(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        session.add(invoice("INV-10"))
    assert stored_numbers(engine) == ["INV-10"], "a block that finishes must be committed"


def test_unit_of_work_rolls_back_and_reraises_when_the_block_raises(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with pytest.raises(ValueError, match="tax rate"), unit_of_work(factory) as session:
        session.add(invoice("INV-11"))
        session.flush()
        raise ValueError("unknown tax rate")
    assert stored_numbers(engine) == [], (
        "a flushed INSERT must be rolled back when the block raises"
    )


def test_unit_of_work_closes_the_session_in_every_case(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        created = invoice("INV-12")
        session.add(created)
    assert object_state(created) == "detached", "close() must detach what the session held"
    assert checked_out(engine) == 0, "the connection must go back to the pool after success"
    with pytest.raises(exc.IntegrityError), unit_of_work(factory) as session:
        session.add(invoice("INV-12"))
    assert checked_out(engine) == 0, "and after a failed commit too"


def test_request_sessions_give_one_session_per_thread(factory: sessionmaker[Session]) -> None:
    requests = RequestSessions(factory)
    here = requests.current()
    assert requests.current() is here, "one thread must get the same session during a request"
    elsewhere: list[Session] = []

    def other_thread() -> None:
        elsewhere.append(requests.current())
        requests.end_request(commit=False)

    worker = threading.Thread(target=other_thread)
    worker.start()
    worker.join()
    assert elsewhere[0] is not here, "another thread must get its own session"
    assert requests.current() is here, "ending another thread's request must not touch this one"
    requests.end_request(commit=False)


def test_end_request_with_commit_stores_the_work_and_starts_fresh(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    requests = RequestSessions(factory)
    first = requests.current()
    first.add(invoice("INV-20"))
    requests.end_request(commit=True)
    assert stored_numbers(engine) == ["INV-20"], "end_request(commit=True) must commit"
    assert not requests.active(), "after end_request() the thread must hold no session"
    assert requests.current() is not first, "the next request must get a new session"
    requests.end_request(commit=False)
    assert checked_out(engine) == 0, "every connection must be back in the pool"


def test_end_request_without_commit_discards_the_work(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    requests = RequestSessions(factory)
    requests.current().add(invoice("INV-21"))
    requests.current().flush()
    requests.end_request(commit=False)
    assert stored_numbers(engine) == [], (
        "end_request(commit=False) must roll back, even flushed rows"
    )


def test_a_failed_request_does_not_poison_the_next_one_on_the_thread(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        session.add(invoice("INV-30"))
    requests = RequestSessions(factory)
    requests.current().add(invoice("INV-30"))
    with pytest.raises(exc.IntegrityError):
        requests.current().flush()
    requests.end_request(commit=False)
    count = requests.current().scalar(select(func.count()).select_from(Invoice))
    assert count == 1, (
        "after end_request() the thread's next request must not raise PendingRollbackError"
    )
    requests.end_request(commit=False)


def test_end_request_forgets_the_session_even_when_commit_fails(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        session.add(invoice("INV-31"))
    requests = RequestSessions(factory)
    failed = requests.current()
    failed.add(invoice("INV-31"))
    try:
        with pytest.raises(exc.IntegrityError):
            requests.end_request(commit=True)
        assert not requests.active(), "a failed commit must still close and forget the session"
        assert checked_out(engine) == 0, "a failed commit must not keep the connection checked out"
        requests.end_request(commit=False)  # no session: must be a harmless no-op
    finally:
        failed.close()  # if the checks above fail, do not leak the connection into later tests


def test_reattach_trusts_a_clean_cached_invoice_without_sql(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        session.add(invoice("INV-40", "55.00"))
    with factory() as session:
        cached = session.scalars(select(Invoice)).one()
    with factory() as session, StatementCounter(engine) as counter:
        own = reattach(session, cached)
        assert own is not cached, "merge() returns the session's own instance, not the argument"
        assert object_state(own) == "persistent"
        assert own.total == Decimal("55.00")
    assert counter.statements == [], (
        f"an unchanged cached object needs no SELECT (use merge(load=False)); sent: "
        f"{counter.statements}"
    )


def test_reattach_loads_a_changed_invoice_and_keeps_the_change(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with unit_of_work(factory) as session:
        session.add(invoice("INV-41", "70.00"))
    with factory() as session:
        cached = session.scalars(select(Invoice)).one()
    cached.status = "paid"  # changed while detached, e.g. by a form
    with factory() as session, StatementCounter(engine) as counter:
        own = reattach(session, cached)
        selects = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1, "a changed object must be loaded once (plain merge())"
        session.commit()
    with factory() as session:
        status = session.scalars(select(Invoice.status)).one()
    assert status == "paid", "the change made while detached must be written by the commit"
    assert object_state(own) == "detached"


def test_rollback_only_factory_leaves_nothing_behind_even_after_commit(engine: Engine) -> None:
    with rollback_only_factory(engine) as test_factory:
        with test_factory() as session:
            session.add(invoice("INV-50"))
            session.commit()
        with test_factory() as session:
            seen = session.scalar(select(func.count()).select_from(Invoice))
        assert seen == 1, "inside the block, a later session must see what an earlier one committed"
    assert stored_numbers(engine) == [], "after the block, nothing committed inside may remain"
    assert checked_out(engine) == 0, "the test connection must be returned to the pool"


def test_rollback_only_factory_survives_the_code_under_test_rolling_back(engine: Engine) -> None:
    with rollback_only_factory(engine) as test_factory:
        with test_factory() as session:
            session.add(invoice("INV-60"))  # the test's own setup data
            session.commit()
        with test_factory() as session:
            session.add(invoice("INV-60"))
            with pytest.raises(exc.IntegrityError):
                session.commit()
            session.rollback()
        with test_factory() as session:
            numbers = list(session.scalars(select(Invoice.number)))
        assert numbers == ["INV-60"], (
            "a rollback in the code under test must undo only its own SAVEPOINT, not the "
            "test's setup: use join_transaction_mode='create_savepoint'"
        )
    assert stored_numbers(engine) == []
