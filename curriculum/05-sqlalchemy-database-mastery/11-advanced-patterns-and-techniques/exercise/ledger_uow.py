"""The persistence layer of a small account ledger.

Money is stored as integer cents. The service layer talks to a repository and a unit of work;
the unit of work owns the transaction and, in the same transaction, writes an outbox message
for every account that is opened or whose balance changes.
"""

from decimal import Decimal
from typing import Any, Protocol, Self

from sqlalchemy import BigInteger, Dialect, Engine, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator
from typing_extensions import override


class Cents(TypeDecorator[Decimal]):
    """A Decimal in Python, a BIGINT count of cents in the database.

    Binding: None stays None; anything that is not a Decimal (float, int, str) raises TypeError;
    a Decimal with a fraction of a cent (Decimal("0.005")) raises ValueError; otherwise the
    value is sent as an int number of cents (Decimal("19.99") -> 1999).
    Reading: None stays None; an int number of cents comes back as a Decimal with exactly two
    places (1999 -> Decimal("19.99"), 0 -> Decimal("0.00")).
    """

    impl = BigInteger
    # TODO: tell SQLAlchemy that statements using this type may be cached.

    @override
    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> int | None:
        # TODO
        raise NotImplementedError

    @override
    def process_result_value(self, value: int | None, dialect: Dialect) -> Decimal | None:
        # TODO
        raise NotImplementedError


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "s5_11_ex_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    owner: Mapped[str] = mapped_column(String(100))
    # TODO: the outbox needs the old balance even when code assigns a new balance to an
    #       account whose attributes were expired by a commit, without reading it first.
    balance: Mapped[Decimal] = mapped_column(Cents)
    overdraft_limit: Mapped[Decimal | None] = mapped_column(Cents)


class OutboxMessage(Base):
    __tablename__ = "s5_11_ex_outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    topic: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)


class AccountNotFound(LookupError):
    pass


class InsufficientFunds(ValueError):
    pass


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...
    def get(self, number: str) -> Account: ...


class SqlAlchemyAccountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, account: Account) -> None:
        """Make the account part of the session's unit of work."""
        # TODO
        raise NotImplementedError

    def get(self, number: str) -> Account:
        """Load the account with this number and lock its row until the transaction ends.

        Raises AccountNotFound(number) when there is none.
        """
        # TODO: a SELECT ... FOR UPDATE, so two concurrent transfers cannot both read the
        #       same old balance.
        raise NotImplementedError


def record_outbox_messages(session: Session, flush_context: Any, instances: Any) -> None:
    """A before_flush listener: add one OutboxMessage per account event to this flush.

    - each new Account: topic "account.opened",
      payload {"number": ..., "balance": "100.00"}
    - each Account whose balance changed: topic "account.balance_changed",
      payload {"number": ..., "old": "100.00", "new": "60.00"}
    Amounts in payloads are strings with two places, as str(Decimal) prints them.
    An account whose balance did not change gets no message.
    """
    # TODO: session.new and session.dirty; inspect(account).attrs.balance.history
    raise NotImplementedError


class UnitOfWork:
    """Owns one session and its transaction.

    with UnitOfWork(factory) as uow:
        uow.accounts.get("ACC-1") ...
        uow.commit()

    Nothing is written unless commit() is called inside the block. On leaving the block,
    whatever was not committed is rolled back (also when the block raises; the exception
    propagates) and the session is closed, so its connection goes back to the pool.
    Every session the unit of work opens runs record_outbox_messages before each flush.
    """

    session: Session
    accounts: AccountRepository

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory

    def __enter__(self) -> Self:
        # TODO: open a session, listen for its before_flush, create the repository
        raise NotImplementedError

    def __exit__(self, *exc_info: object) -> None:
        # TODO
        raise NotImplementedError

    def commit(self) -> None:
        # TODO
        raise NotImplementedError


def transfer(uow: UnitOfWork, source: str, target: str, amount: Decimal) -> None:
    """Move `amount` from one account to another, all or nothing. (Given: do not change.)"""
    with uow:
        # Lock the two rows in one global order, so opposite transfers cannot deadlock.
        accounts = {number: uow.accounts.get(number) for number in sorted({source, target})}
        debit, credit = accounts[source], accounts[target]
        floor = -(debit.overdraft_limit or Decimal("0.00"))
        if debit.balance - amount < floor:
            raise InsufficientFunds(f"{source} cannot pay {amount}")
        debit.balance -= amount
        credit.balance += amount
        uow.commit()


def reset_schema(engine: Engine) -> None:
    """Drop and create the exercise's two tables. (Given.)"""
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
