import os
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from ledger_uow import (
    Account,
    AccountNotFound,
    Cents,
    InsufficientFunds,
    OutboxMessage,
    UnitOfWork,
    reset_schema,
    transfer,
)
from sqlalchemy import Engine, create_engine, event, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


@pytest.fixture(scope="module")
def engine() -> Iterator[Engine]:
    # A session left open keeps its row locks: fail after 5 s instead of waiting forever.
    engine = create_engine(
        POSTGRES_URL,
        pool_size=2,
        max_overflow=0,
        pool_timeout=5,
        connect_args={"options": "-c lock_timeout=5000"},
    )
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS s5_11_ex_accounts, s5_11_ex_outbox"))
    engine.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    reset_schema(engine)
    with Session(engine) as session:  # plain inserts: no unit of work, so no outbox rows
        session.execute(
            text(
                "INSERT INTO s5_11_ex_accounts (number, owner, balance, overdraft_limit)"
                " VALUES ('ACC-1', 'Acme', 10000, NULL), ('ACC-2', 'Globex', 2500, 5000)"
            )
        )
        session.commit()
    return sessionmaker(engine)


def balances(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT number, balance FROM s5_11_ex_accounts"))
        return {str(number): int(cents) for number, cents in rows}


def outbox(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as session:
        messages = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(message.topic, message.payload) for message in messages]


def test_cents_sends_a_decimal_as_integer_cents(engine: Engine) -> None:
    cents, dialect = Cents(), engine.dialect
    assert cents.process_bind_param(Decimal("19.99"), dialect) == 1999, "19.99 is 1999 cents"
    assert cents.process_bind_param(Decimal("-5"), dialect) == -500, "negative amounts work too"
    sent = cents.process_bind_param(Decimal("19.99"), dialect)
    assert type(sent) is int, f"send an int to a BIGINT column, not {type(sent).__name__}"


def test_cents_reads_back_a_decimal_with_two_places(engine: Engine) -> None:
    cents, dialect = Cents(), engine.dialect
    for stored, shown in [(1999, "19.99"), (0, "0.00"), (-500, "-5.00"), (100, "1.00")]:
        value = cents.process_result_value(stored, dialect)
        assert isinstance(value, Decimal), f"{stored} must come back as a Decimal"
        assert str(value) == shown, f"{stored} cents must read as {shown}, got {value}"


def test_cents_passes_none_through_in_both_directions(engine: Engine) -> None:
    cents, dialect = Cents(), engine.dialect
    assert cents.process_bind_param(None, dialect) is None, "NULL in, NULL stored"
    assert cents.process_result_value(None, dialect) is None, "NULL stored, None out"


def test_cents_refuses_floats_ints_and_fractions_of_a_cent(engine: Engine) -> None:
    cents, dialect = Cents(), engine.dialect
    for wrong_type in (19.99, 20, "19.99"):
        try:
            cents.process_bind_param(wrong_type, dialect)  # type: ignore[arg-type]
        except TypeError:
            continue
        pytest.fail(
            f"{wrong_type!r} ({type(wrong_type).__name__}) must raise TypeError: only a Decimal "
            "says exactly which amount is meant, and 19.99 as a float is 19.989999..."
        )
    with pytest.raises(ValueError, match=r"0\.005"):
        cents.process_bind_param(Decimal("0.005"), dialect)


def test_cents_declares_itself_cacheable() -> None:
    assert Cents.__dict__.get("cache_ok") is True, (
        "without cache_ok = True on the class itself, every statement that uses the type is "
        "compiled again and SQLAlchemy warns 'will not produce a cache key'"
    )


def test_repository_raises_account_not_found(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow, pytest.raises(AccountNotFound, match="ACC-404"):
        uow.accounts.get("ACC-404")


def test_repository_locks_the_row_it_loads(engine: Engine, factory: sessionmaker[Session]) -> None:
    sent: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        with UnitOfWork(factory) as uow:
            balance = uow.accounts.get("ACC-1").balance
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert balance == Decimal("100.00"), "ACC-1 holds 10000 cents"
    assert any("FOR UPDATE" in statement for statement in sent), (
        f"get() must lock the row (SELECT ... FOR UPDATE), so two transfers cannot both read "
        f"the same old balance; sent: {sent}"
    )


def test_nothing_is_written_without_commit(engine: Engine, factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        uow.accounts.get("ACC-1").balance = Decimal("0.00")
        uow.accounts.add(Account(number="ACC-3", owner="Initech", balance=Decimal("1.00")))
    assert balances(engine) == {"ACC-1": 10000, "ACC-2": 2500}, (
        "leaving the block without commit() must roll everything back"
    )
    assert outbox(engine) == [], "and the outbox rows of that transaction go with it"


def test_an_error_rolls_back_propagates_and_returns_the_connection(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with pytest.raises(RuntimeError, match="boom"), UnitOfWork(factory) as uow:
        uow.accounts.get("ACC-1").balance = Decimal("1.00")
        uow.session.flush()
        raise RuntimeError("boom")
    assert balances(engine)["ACC-1"] == 10000, "the flushed change must be rolled back"
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert pool.checkedout() == 0, "the unit of work must give the connection back on the way out"


def test_leaving_the_block_closes_the_session(factory: sessionmaker[Session]) -> None:
    with UnitOfWork(factory) as uow:
        account = uow.accounts.get("ACC-1")
        uow.commit()
    assert inspect(account).detached, (
        "after the block the session must be closed, so the objects it loaded are detached: "
        "a rollback alone returns the connection but keeps them attached to a session that "
        "the next caller could still flush through"
    )


def test_opening_an_account_writes_an_opened_message(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with UnitOfWork(factory) as uow:
        uow.accounts.add(Account(number="ACC-3", owner="Initech", balance=Decimal("42.50")))
        uow.commit()
    assert balances(engine)["ACC-3"] == 4250, "42.50 is stored as 4250 cents"
    assert outbox(engine) == [("account.opened", {"number": "ACC-3", "balance": "42.50"})], (
        "one account.opened message per new account, in the same commit, with a two-place amount"
    )


def test_transfer_moves_money_and_writes_both_messages(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    transfer(UnitOfWork(factory), "ACC-1", "ACC-2", Decimal("40.00"))
    assert balances(engine) == {"ACC-1": 6000, "ACC-2": 6500}, "40.00 moves from ACC-1 to ACC-2"
    messages = sorted(outbox(engine), key=lambda message: message[1]["number"])
    assert messages == [
        ("account.balance_changed", {"number": "ACC-1", "old": "100.00", "new": "60.00"}),
        ("account.balance_changed", {"number": "ACC-2", "old": "25.00", "new": "65.00"}),
    ], "one balance_changed message per account, committed with the change itself"


def test_overdraft_limit_is_honoured_and_a_refused_transfer_writes_nothing(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    transfer(UnitOfWork(factory), "ACC-2", "ACC-1", Decimal("75.00"))  # 25.00 - 75.00 >= -50
    with pytest.raises(InsufficientFunds):
        transfer(UnitOfWork(factory), "ACC-2", "ACC-1", Decimal("0.01"))
    assert balances(engine) == {"ACC-1": 17500, "ACC-2": -5000}, (
        "ACC-2 may go down to -50.00 (its overdraft limit) and not a cent further"
    )
    assert len(outbox(engine)) == 2, "the refused transfer must not add outbox messages"


def test_a_blind_write_after_commit_still_records_the_old_balance(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with UnitOfWork(factory) as uow:
        account = uow.accounts.get("ACC-1")
        uow.commit()  # expires account: its balance is no longer loaded
        account.balance = Decimal("5.00")  # assigned without being read first
        uow.commit()
    assert outbox(engine) == [
        ("account.balance_changed", {"number": "ACC-1", "old": "100.00", "new": "5.00"})
    ], "with an expired attribute the history has no old value unless the column asks for it"


def test_an_unchanged_balance_writes_no_message(
    engine: Engine, factory: sessionmaker[Session]
) -> None:
    with UnitOfWork(factory) as uow:
        account = uow.accounts.get("ACC-1")
        account.balance = Decimal("100.00")
        account.owner = "Acme GmbH"
        uow.commit()
    assert outbox(engine) == [], "setting the same balance again is not a balance change"
