"""Behavioural tests for service_db: run against the real PostgreSQL."""

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from decimal import Decimal

import pytest
from service_db import build_engine, build_session_factory, schema_drift, unit_of_work
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError, OperationalError, TimeoutError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import NullPool, QueuePool

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Invoice(Base):
    __tablename__ = "s5_2_ex_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class DriftBase(DeclarativeBase):
    pass


class CreditNote(DriftBase):
    """A model of its own for the drift checks, so they never wait on an invoices lock."""

    __tablename__ = "s5_2_ex_credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_number: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    reason: Mapped[str | None] = mapped_column(String(200))


@pytest.fixture
def admin() -> Iterator[Engine]:
    """An unpooled autocommit engine for setup and for watching pg_stat_activity.

    lock_timeout makes teardown fail in 3 s, instead of hanging, when a session under test
    was left open holding locks on the table being dropped.
    """
    engine = create_engine(
        URL,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c lock_timeout=3000"},
    )
    yield engine
    engine.dispose()


@pytest.fixture
def engines() -> Iterator[list[Engine]]:
    """Engines built by a test are disposed afterwards, even when the test fails."""
    built: list[Engine] = []
    yield built
    for engine in built:
        engine.dispose()


def drop_invoices(admin: Engine) -> None:
    try:
        Base.metadata.drop_all(admin)
    except OperationalError as exc:
        pytest.fail(
            "could not drop s5_2_ex_invoices: a session from unit_of_work is still open and "
            f"holds a lock on it; close the session on every exit path ({exc.orig})"
        )


@pytest.fixture
def invoices_engine(admin: Engine, engines: list[Engine]) -> Iterator[Engine]:
    drop_invoices(admin)
    Base.metadata.create_all(admin)
    engine = build_engine(URL, application_name="s5_2_ex_uow")
    engines.append(engine)
    yield engine
    engine.dispose()
    drop_invoices(admin)


def invoice_numbers(admin: Engine) -> list[str]:
    with admin.connect() as conn:
        return list(conn.scalars(select(Invoice.number).order_by(Invoice.number)))


def test_the_pool_holds_size_plus_overflow_then_times_out(engines: list[Engine]) -> None:
    engine = build_engine(
        URL, application_name="s5_2_ex_pool", pool_size=2, max_overflow=1, pool_timeout=0.3
    )
    engines.append(engine)
    assert isinstance(engine.pool, QueuePool), "use the default QueuePool, not NullPool"
    with ExitStack() as held:
        for _ in range(3):
            held.enter_context(engine.connect())
        started = time.perf_counter()
        with pytest.raises(TimeoutError):
            engine.connect()
        waited = time.perf_counter() - started
    assert engine.pool.size() == 2, "pool_size must be passed to create_engine"
    assert 0.2 < waited < 2, f"the 4th checkout should wait ~pool_timeout (0.3 s), waited {waited}"


def test_every_connection_carries_the_application_name(engines: list[Engine]) -> None:
    engine = build_engine(URL, application_name="s5_2_ex_named")
    engines.append(engine)
    with engine.connect() as conn:
        name = conn.execute(text("SHOW application_name")).scalar_one()
    assert name == "s5_2_ex_named", "pass application_name to the driver through connect_args"


def test_statement_timeout_cancels_long_queries(engines: list[Engine]) -> None:
    engine = build_engine(URL, application_name="s5_2_ex_timeout", statement_timeout_ms=300)
    engines.append(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "300ms", (
            "set statement_timeout per connection, e.g. libpq options '-c statement_timeout=300'"
        )
        started = time.perf_counter()
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(3)"))
    assert time.perf_counter() - started < 2, "the server should cancel the query after 300 ms"


def test_the_engine_replaces_connections_the_server_dropped(
    admin: Engine, engines: list[Engine]
) -> None:
    engine = build_engine(URL, application_name="s5_2_ex_ping")
    engines.append(engine)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))  # one connection now idles in the pool
    backends = "SELECT pid FROM pg_stat_activity WHERE application_name = 's5_2_ex_ping'"
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM ({backends}) AS b"))
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # wait until the server has really closed it
        with admin.connect() as conn:
            if not conn.execute(text(backends)).first():
                break
        time.sleep(0.02)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    except OperationalError as exc:
        pytest.fail(f"a killed pooled connection reached the caller; enable pre-ping ({exc.orig})")


def test_unit_of_work_commits_when_the_block_succeeds(
    invoices_engine: Engine, admin: Engine
) -> None:
    factory = build_session_factory(invoices_engine)
    with unit_of_work(factory) as session:
        session.add(Invoice(number="INV-1", total=Decimal("10.00")))
    assert invoice_numbers(admin) == ["INV-1"], "a successful block must commit"


def test_unit_of_work_rolls_back_everything_and_reraises(
    invoices_engine: Engine, admin: Engine
) -> None:
    factory = build_session_factory(invoices_engine)
    with pytest.raises(ValueError, match="card declined"), unit_of_work(factory) as session:
        session.add(Invoice(number="INV-2", total=Decimal("20.00")))
        session.flush()  # the INSERT reached the database inside the transaction
        raise ValueError("card declined")
    assert invoice_numbers(admin) == [], "a failing block must roll back its flushed rows"


def test_unit_of_work_surfaces_database_errors(invoices_engine: Engine, admin: Engine) -> None:
    factory = build_session_factory(invoices_engine)
    with unit_of_work(factory) as session:
        session.add(Invoice(number="INV-3", total=Decimal("30.00")))
    with pytest.raises(IntegrityError), unit_of_work(factory) as session:
        session.add(Invoice(number="INV-3", total=Decimal("31.00")))
    assert invoice_numbers(admin) == ["INV-3"], "the duplicate must not replace the first row"


def test_unit_of_work_returns_the_connection_in_both_outcomes(invoices_engine: Engine) -> None:
    factory = build_session_factory(invoices_engine)
    pool = invoices_engine.pool
    assert isinstance(pool, QueuePool)
    with unit_of_work(factory) as session:
        session.add(Invoice(number="INV-4", total=Decimal("40.00")))
    assert pool.checkedout() == 0, "after success the session must be closed"
    with pytest.raises(RuntimeError), unit_of_work(factory) as session:
        session.execute(select(func.count()).select_from(Invoice))
        raise RuntimeError("handler bug")
    assert pool.checkedout() == 0, "after a failure the session must be closed too"


def test_objects_stay_readable_after_the_unit_of_work(invoices_engine: Engine) -> None:
    factory = build_session_factory(invoices_engine)
    with unit_of_work(factory) as session:
        invoice = Invoice(number="INV-5", total=Decimal("50.00"))
        session.add(invoice)
    assert (invoice.id, invoice.total) == (1, Decimal("50.00")), (
        "with expire_on_commit=True this read raises DetachedInstanceError; turn it off"
    )


@pytest.fixture
def drift_tables(admin: Engine) -> Iterator[MetaData]:
    """Live: s5_2_ex_orders as a legacy app created it. Declared: the model we believe in."""
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS s5_2_ex_orders, s5_2_ex_refunds, s5_2_ex_other")
        conn.exec_driver_sql(
            "CREATE TABLE s5_2_ex_orders (id serial PRIMARY KEY, customer varchar(80) NOT NULL,"
            " total numeric(10, 2) NOT NULL, note text, legacy_flag boolean)"
        )
        conn.exec_driver_sql("CREATE TABLE s5_2_ex_other (id int PRIMARY KEY)")
    declared = MetaData()
    Table(
        "s5_2_ex_orders",
        declared,
        Column("id", Integer, primary_key=True),
        Column("customer", String(80), nullable=False),
        Column("total", Numeric(10, 2), nullable=False),
        Column("note", String(200), nullable=True),
    )
    yield declared
    with admin.connect() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS s5_2_ex_orders, s5_2_ex_refunds, s5_2_ex_other")


def test_drift_is_empty_when_model_and_database_agree(admin: Engine) -> None:
    DriftBase.metadata.drop_all(admin)
    DriftBase.metadata.create_all(admin)
    try:
        assert schema_drift(admin, DriftBase.metadata) == [], (
            "a schema created from the model has no drift: compare types compiled for the "
            "engine's dialect on both sides, and nullability as booleans"
        )
    finally:
        DriftBase.metadata.drop_all(admin)


def test_drift_reports_columns_types_and_nullability(admin: Engine, drift_tables: MetaData) -> None:
    orders = drift_tables.tables["s5_2_ex_orders"]
    orders.append_column(Column("currency", String(3), nullable=False))
    orders.c.total.nullable = True
    assert schema_drift(admin, drift_tables) == [
        "s5_2_ex_orders.note: VARCHAR(200) in model, TEXT in database",
        "s5_2_ex_orders.total: nullable in model, NOT NULL in database",
        "s5_2_ex_orders: missing column currency",
        "s5_2_ex_orders: unexpected column legacy_flag",
    ], "compare names, then nullability, then types compiled for the engine's dialect"


def test_drift_reports_a_missing_table_without_failing(
    admin: Engine, drift_tables: MetaData
) -> None:
    Table("s5_2_ex_refunds", drift_tables, Column("id", Integer, primary_key=True))
    findings = schema_drift(admin, drift_tables)
    assert "missing table s5_2_ex_refunds" in findings, (
        "a declared table absent from the database is a finding, not an exception"
    )


def test_drift_ignores_tables_the_model_does_not_declare(
    admin: Engine, drift_tables: MetaData
) -> None:
    findings = schema_drift(admin, drift_tables)
    assert not [f for f in findings if "s5_2_ex_other" in f], (
        "only declared tables are checked; other teams' tables are not drift"
    )
