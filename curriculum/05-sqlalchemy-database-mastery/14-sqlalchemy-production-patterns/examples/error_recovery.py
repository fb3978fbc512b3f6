"""Transient PostgreSQL errors, produced for real, and a bounded, jittered retry around them.

Tenants hold prepaid credit in wallets. Reservations run at REPEATABLE READ; transfers lock two
wallets. Every error below is raised by PostgreSQL itself; another request is played by a second
connection (or thread), and a failover by pg_terminate_backend().
"""

import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine, create_engine, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, PendingRollbackError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import NullPool

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization_failure, deadlock_detected
log = logging.getLogger("billing.tx")
T = TypeVar("T")


class Base(DeclarativeBase):
    pass


class Wallet(Base):
    __tablename__ = "s5_14_wallets"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant: Mapped[str] = mapped_column(unique=True)
    credits: Mapped[int]


class CommitOutcomeUnknown(Exception):
    """The connection died while COMMIT was in flight: the transaction may or may not exist."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.05  # seconds; the cap doubles after every failed attempt
    max_delay: float = 1.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2 ** (attempt - 1))]."""
        return rng.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def sqlstate(exc: DBAPIError) -> str | None:
    # psycopg 3 and asyncpg name it .sqlstate, psycopg2 names it .pgcode
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code if isinstance(code, str) else None


def is_retryable(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or sqlstate(exc) in RETRYABLE_SQLSTATES


def first_line(exc: BaseException | None) -> str:
    return str(exc).splitlines()[0].split(" (Background on this error")[0]


def describe(exc: DBAPIError) -> str:
    orig = exc.orig
    return f"{type(exc).__name__}/{type(orig).__name__} [{sqlstate(exc)}] {first_line(orig)}"


def run_in_transaction(
    factory: sessionmaker[Session],
    work: Callable[[Session], T],
    policy: RetryPolicy,
    rng: random.Random,
) -> T:
    """Run work in a new session per attempt; retry only the errors that are safe to retry."""
    for attempt in range(1, policy.attempts + 1):
        with factory() as session:
            try:
                result = work(session)
                session.flush()  # so that an error from commit() below is the COMMIT itself
            except DBAPIError as exc:
                if not is_retryable(exc) or attempt == policy.attempts:
                    log.error("attempt %d: %s -> raised", attempt, describe(exc))
                    raise
                pause = policy.delay(attempt, rng)
                log.warning(
                    "attempt %d: %s -> retry in %.0f ms", attempt, describe(exc), pause * 1e3
                )
                session.rollback()
                time.sleep(pause)
                continue
            try:
                session.commit()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    raise CommitOutcomeUnknown(describe(exc)) from exc
                raise
            log.info("attempt %d: committed", attempt)
            return result
    raise AssertionError("unreachable: the last attempt returns or raises")


admin = create_engine(DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def terminate(pid: int) -> None:
    """What a failover, a server restart or an idle-connection reaper does to a backend."""
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid, 2000)"), {"pid": pid})


def backend_pid(session: Session) -> int:
    return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def change_credits(session: Session, tenant: str, delta: int) -> None:
    stmt = update(Wallet).where(Wallet.tenant == tenant).values(credits=Wallet.credits + delta)
    session.execute(stmt)


def start_opposite_transfer(engine: Engine) -> threading.Thread:
    """Another request moves 5 credits globex -> acme: it locks globex, then waits for acme."""
    pids: list[int] = []
    first_lock_taken = threading.Event()

    def transfer() -> None:
        with Session(engine) as other, other.begin():
            pids.append(backend_pid(other))
            change_credits(other, "globex", -5)
            first_lock_taken.set()
            change_credits(other, "acme", +5)  # blocks: our transaction holds acme's row

    thread = threading.Thread(target=transfer)
    thread.start()
    first_lock_taken.wait()
    waiting = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
    with admin.connect() as conn:  # until PostgreSQL shows it waiting for our row lock
        while conn.execute(waiting, {"pid": pids[0]}).scalar() != "Lock":
            time.sleep(0.005)
    return thread


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s %(message)s", stream=sys.stdout)
    engine = create_engine(DATABASE_URL, pool_size=4, pool_pre_ping=True)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add_all([Wallet(tenant="acme", credits=100), Wallet(tenant="globex", credits=100)])
    repeatable = sessionmaker(engine.execution_options(isolation_level="REPEATABLE READ"))
    policy, rng = RetryPolicy(), random.Random(514)

    def balances() -> str:
        with Session(engine) as session:
            rows = session.execute(select(Wallet.tenant, Wallet.credits).order_by(Wallet.id))
            return ", ".join(f"{tenant}={credits}" for tenant, credits in rows)

    print("== 1. serialization failure (40001): a top-up commits between our read and our write")
    calls = 0

    def reserve_30(session: Session) -> int:
        nonlocal calls
        calls += 1
        wallet = session.scalars(select(Wallet).where(Wallet.tenant == "acme")).one()
        if calls == 1:
            with Session(engine) as other, other.begin():
                change_credits(other, "acme", +10)
        wallet.credits -= 30  # the ORM sends SET credits = <value computed in Python>
        return wallet.credits

    print("acme keeps", run_in_transaction(repeatable, reserve_30, policy, rng), "|", balances())

    print("== 2. deadlock (40P01): two transfers lock the same two wallets in opposite order")
    others: list[threading.Thread] = []

    def transfer_20(session: Session) -> None:
        if others:  # a retry; for a repeatable demo, let the other transfer commit first
            others[0].join()
        change_credits(session, "acme", -20)
        if not others:
            others.append(start_opposite_transfer(engine))
            # Only so that we, not the other transfer, are the victim on every run:
            session.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
        change_credits(session, "globex", +20)

    run_in_transaction(repeatable, transfer_20, policy, rng)
    print(balances())

    print("== 3. the server terminates our connection in the middle of a transaction")
    with Session(engine) as session:
        change_credits(session, "acme", -1)
        terminate(backend_pid(session))
        for step in ("next statement", "one more"):
            try:
                change_credits(session, "acme", -1)
            except (DBAPIError, PendingRollbackError) as exc:
                print(f"{step}: {type(exc).__name__}: {first_line(exc)}")
    killed = False

    def refund_after_failover(session: Session) -> None:
        nonlocal killed
        change_credits(session, "acme", +5)
        if not killed:
            killed = True
            terminate(backend_pid(session))
        change_credits(session, "globex", -5)

    run_in_transaction(repeatable, refund_after_failover, policy, rng)
    print(balances())

    print("== 4. the connection dies while COMMIT is in flight")

    def bonus(session: Session) -> None:
        change_credits(session, "acme", +1000)
        terminate(backend_pid(session))

    try:
        run_in_transaction(repeatable, bonus, policy, rng)
    except CommitOutcomeUnknown as exc:
        print(f"CommitOutcomeUnknown: {exc}")
    print("re-read to learn what happened:", balances())

    print("== 5. a constraint violation is a bug or a business rule, never retried")
    try:
        run_in_transaction(
            repeatable, lambda s: s.add(Wallet(tenant="acme", credits=0)), policy, rng
        )
    except IntegrityError as exc:
        print("the caller gets", type(exc.orig).__name__, "after one attempt")

    print("== 6. a conflict on every attempt: the policy gives up")

    def always_conflicting(session: Session) -> None:
        wallet = session.scalars(select(Wallet).where(Wallet.tenant == "globex")).one()
        with Session(engine) as other, other.begin():
            change_credits(other, "globex", +1)
        wallet.credits -= 1

    try:
        run_in_transaction(repeatable, always_conflicting, RetryPolicy(attempts=3), rng)
    except DBAPIError as exc:
        print("gave up with", sqlstate(exc))

    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
