"""Behavioural tests for safe_transactions, against the real PostgreSQL.

Every failure here is produced by the server: a concurrent commit for 40001, two transactions
locking rows in opposite order for 40P01, pg_terminate_backend() for a lost connection.
"""

import os
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from safe_transactions import (
    CommitOutcomeUnknown,
    RetryPolicy,
    SlowQueryLog,
    run_in_transaction,
)
from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Wallet(Base):
    __tablename__ = "s5_14_ex_wallets"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(unique=True)
    credits: Mapped[int]


@pytest.fixture
def admin() -> Iterator[Engine]:
    engine = create_engine(
        URL,
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"options": "-c lock_timeout=3000"},
    )
    yield engine
    engine.dispose()


@pytest.fixture
def engine(admin: Engine) -> Iterator[Engine]:
    Base.metadata.drop_all(admin)
    Base.metadata.create_all(admin)
    with Session(admin) as session:
        session.add_all([Wallet(tenant="acme", credits=100), Wallet(tenant="globex", credits=100)])
        session.commit()
    engine = create_engine(URL, pool_size=3)
    yield engine
    engine.dispose()
    try:
        Base.metadata.drop_all(admin)
    except OperationalError as exc:
        pytest.fail(f"a session is still open and holds a lock on s5_14_ex_wallets: {exc.orig}")


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine.execution_options(isolation_level="REPEATABLE READ"))


def credits(admin: Engine, tenant: str) -> int:
    with Session(admin) as session:
        return session.scalars(select(Wallet.credits).where(Wallet.tenant == tenant)).one()


def add_credits(session: Session, tenant: str, delta: int) -> None:
    session.execute(
        update(Wallet).where(Wallet.tenant == tenant).values(credits=Wallet.credits + delta)
    )


def terminate_own_backend(admin: Engine, session: Session) -> None:
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": pid})


def wait_until_waiting_for_a_lock(admin: Engine, pid: int) -> None:
    query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    deadline = time.monotonic() + 5
    with admin.connect() as conn:
        while conn.execute(query, {"pid": pid}).scalar() != "Lock":
            assert time.monotonic() < deadline, "the opposite transfer never started waiting"
            time.sleep(0.005)


def wait_until_running(admin: Engine, marker: str) -> None:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE :pattern"
    )
    deadline = time.monotonic() + 5
    with admin.connect() as conn:
        while not conn.execute(query, {"pattern": f"%{marker}%"}).scalar():
            assert time.monotonic() < deadline, f"no statement containing {marker!r} started"
            time.sleep(0.005)


def counted(work: Callable[[Session, int], None]) -> tuple[Callable[[Session], None], list[int]]:
    """Wrap work(session, attempt) so the test knows how many attempts ran."""
    attempts: list[int] = []

    def wrapper(session: Session) -> None:
        attempts.append(len(attempts) + 1)
        work(session, len(attempts))

    return wrapper, attempts


def test_a_serialization_failure_is_retried_and_commits_once(
    admin: Engine, engine: Engine, factory: sessionmaker[Session]
) -> None:
    def reserve(session: Session, attempt: int) -> None:
        wallet = session.scalars(select(Wallet).where(Wallet.tenant == "acme")).one()
        if attempt == 1:  # another request tops the wallet up after our snapshot was taken
            with Session(engine) as other, other.begin():
                add_credits(other, "acme", 10)
        wallet.credits -= 30

    work, attempts = counted(reserve)
    delays: list[float] = []
    run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=delays.append)
    assert attempts == [1, 2], (
        f"attempt 1 must fail with SQLSTATE 40001 and be run again; attempts made: {attempts}"
    )
    assert len(delays) == 1, f"sleep once between two attempts, slept {delays}"
    assert credits(admin, "acme") == 80, "100 + 10 (top-up) - 30 (reservation) must be 80"


def test_a_deadlock_is_retried(
    admin: Engine, engine: Engine, factory: sessionmaker[Session]
) -> None:
    opposite: list[threading.Thread] = []
    pids: list[int] = []
    locked = threading.Event()

    def opposite_transfer() -> None:
        with Session(engine) as other, other.begin():
            pids.append(other.execute(text("SELECT pg_backend_pid()")).scalar_one())
            add_credits(other, "globex", -5)
            locked.set()
            add_credits(other, "acme", 5)  # waits for the acme row the test holds

    def transfer(session: Session, attempt: int) -> None:
        if attempt > 1:  # the other transfer now holds acme; let it commit before we retry
            opposite[0].join(timeout=5)
        add_credits(session, "acme", -20)
        if attempt == 1:
            opposite.append(threading.Thread(target=opposite_transfer))
            opposite[0].start()
            locked.wait(timeout=5)
            wait_until_waiting_for_a_lock(admin, pids[0])
            session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))  # we are the victim
        add_credits(session, "globex", 20)

    work, attempts = counted(transfer)
    run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    opposite[0].join(timeout=5)
    assert attempts == [1, 2], f"a deadlock (SQLSTATE 40P01) must be retried; attempts: {attempts}"
    assert (credits(admin, "acme"), credits(admin, "globex")) == (85, 115), (
        "both transfers must be applied exactly once"
    )


def test_a_connection_killed_during_the_work_is_retried_on_a_new_one(
    admin: Engine, factory: sessionmaker[Session]
) -> None:
    def refund(session: Session, attempt: int) -> None:
        add_credits(session, "acme", 5)
        if attempt == 1:
            terminate_own_backend(admin, session)
        add_credits(session, "globex", -5)

    work, attempts = counted(refund)
    run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    assert attempts == [1, 2], (
        "an error whose connection_invalidated is True, raised before COMMIT, is safe to retry"
    )
    assert (credits(admin, "acme"), credits(admin, "globex")) == (105, 95)


def test_a_disconnect_found_while_flushing_is_retried_not_reported_as_a_lost_commit(
    admin: Engine, factory: sessionmaker[Session]
) -> None:
    def open_wallet(session: Session, attempt: int) -> None:
        session.execute(text("SELECT 1"))
        if attempt == 1:
            terminate_own_backend(admin, session)
        session.add(Wallet(tenant="initech", credits=50))  # pending until the flush

    work, attempts = counted(open_wallet)
    try:
        run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    except CommitOutcomeUnknown:
        pytest.fail(
            "the connection died before COMMIT was sent (the INSERT failed), so the outcome is "
            "known: flush() the work's changes before commit() so that only COMMIT itself can "
            "raise inside commit()"
        )
    assert attempts == [1, 2]
    assert credits(admin, "initech") == 50


def test_a_connection_lost_during_commit_raises_commit_outcome_unknown(
    admin: Engine, factory: sessionmaker[Session]
) -> None:
    def bonus(session: Session, attempt: int) -> None:
        add_credits(session, "acme", 1000)
        session.flush()
        terminate_own_backend(admin, session)

    work, attempts = counted(bonus)
    with pytest.raises(CommitOutcomeUnknown) as raised:
        run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    assert attempts == [1], "never re-run work whose COMMIT may have succeeded"
    assert isinstance(raised.value.__cause__, DBAPIError), (
        "raise CommitOutcomeUnknown(...) from the driver error, so the cause is kept"
    )


def test_a_unique_violation_is_raised_at_once(factory: sessionmaker[Session]) -> None:
    work, attempts = counted(lambda session, _: session.add(Wallet(tenant="acme", credits=1)))
    with pytest.raises(IntegrityError):
        run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    assert attempts == [1], "23505 is not transient: retrying cannot make the duplicate go away"


def test_the_policy_gives_up_after_its_attempts_and_reraises(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    def always_conflicting(session: Session, attempt: int) -> None:
        wallet = session.scalars(select(Wallet).where(Wallet.tenant == "globex")).one()
        with Session(engine) as other, other.begin():
            add_credits(other, "globex", 1)
        wallet.credits -= 1

    work, attempts = counted(always_conflicting)
    delays: list[float] = []
    with pytest.raises(OperationalError) as raised:
        run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=delays.append)
    assert attempts == [1, 2, 3], f"exactly policy.attempts attempts, got {attempts}"
    assert len(delays) == 2, "sleep between attempts, not after the last one"
    assert getattr(raised.value.orig, "sqlstate", None) == "40001"
    assert isinstance(engine.pool, QueuePool)
    assert engine.pool.checkedout() == 0, "every attempt's session must be closed"


def test_delays_are_full_jitter_under_a_doubling_cap() -> None:
    policy = RetryPolicy(attempts=10, base_delay=0.1, max_delay=0.5)
    rng = random.Random(7)
    for attempt, cap in [(1, 0.1), (2, 0.2), (3, 0.4), (4, 0.5), (9, 0.5)]:
        draws = [policy.delay(attempt, rng) for _ in range(200)]
        assert all(0 <= d <= cap for d in draws), f"attempt {attempt}: delays must be in [0, {cap}]"
        assert max(draws) > cap * 0.8 and min(draws) < cap * 0.2, (
            f"attempt {attempt}: draw uniformly from the whole [0, {cap}] range (full jitter), "
            "so that clients which failed together do not retry together"
        )


def test_the_slow_query_log_keeps_slow_statements_only_and_never_values(engine: Engine) -> None:
    log = SlowQueryLog(engine, threshold_ms=100)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            conn.execute(
                text("SELECT pg_sleep(0.15),\n       :email AS email"),
                {"email": "ada@lovelace.test"},
            )
    finally:
        log.remove()
    assert log.statements == 2, f"count every completed statement, counted {log.statements}"
    assert len(log.entries) == 1, f"only the pg_sleep(0.15) is slow: {log.entries}"
    entry = log.entries[0]
    assert entry.elapsed_ms >= 150, f"pg_sleep(0.15) took at least 150 ms, got {entry.elapsed_ms}"
    assert "pg_sleep" in entry.statement and "\n" not in entry.statement, (
        f"keep the statement on one line: {entry.statement!r}"
    )
    assert "ada@lovelace.test" not in repr(log.entries), (
        "parameters (emails, tokens) must never be stored in the slow-query log"
    )


def test_the_slow_query_log_times_each_connection_separately(admin: Engine, engine: Engine) -> None:
    log = SlowQueryLog(engine, threshold_ms=250)

    def nightly_report() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(0.3) AS report"))

    try:
        report = threading.Thread(target=nightly_report)
        report.start()
        wait_until_running(admin, "AS report")
        with engine.connect() as conn:  # meanwhile, on another connection:
            for _ in range(5):  # fast requests, 10 ms apart
                conn.execute(text("SELECT 1"))
                time.sleep(0.01)
            conn.execute(text("SELECT pg_sleep(0.3) AS export"))  # ends after the report ends
        report.join()
    finally:
        log.remove()
    timed = {entry.statement.rsplit(" ", 1)[-1]: entry.elapsed_ms for entry in log.entries}
    assert set(timed) == {"report", "export"} and min(timed.values()) >= 300, (
        "two pg_sleep(0.3) statements overlapped on two connections, and each must be timed "
        "from its own start: keep the start time with the connection (conn.info), not in one "
        f"attribute or one list shared by all connections. Slow entries: {log.entries}"
    )


def test_a_statement_timeout_is_raised_at_once(factory: sessionmaker[Session]) -> None:
    def runaway_report(session: Session, attempt: int) -> None:
        session.execute(text("SET LOCAL statement_timeout = '50ms'"))
        session.execute(text("SELECT pg_sleep(1)"))

    work, attempts = counted(runaway_report)
    with pytest.raises(OperationalError) as raised:
        run_in_transaction(factory, work, RetryPolicy(attempts=3), sleep=lambda _: None)
    assert getattr(raised.value.orig, "sqlstate", None) == "57014"
    assert attempts == [1], (
        "57014 (statement_timeout) arrives as an OperationalError, the same class as 40001, "
        "but running a statement the server cancelled for being slow again only repeats the "
        "wait: decide by the SQLSTATE, never by the exception class"
    )


def test_remove_takes_every_listener_off_the_engine(engine: Engine) -> None:
    log = SlowQueryLog(engine, threshold_ms=0)
    log.remove()
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert log.statements == 0 and log.entries == [], "after remove() nothing is timed"
    for name in ("before_cursor_execute", "after_cursor_execute"):
        assert not list(getattr(engine.dispatch, name)), (
            f"a {name} listener is still on the engine: remove() must take off all it added"
        )
    # handle_error is a dialect event: listening on an engine stores it on engine.dialect
    assert not list(getattr(engine.dialect.dispatch, "handle_error", [])), (
        "a handle_error listener is still installed: remove() must take off all it added"
    )
