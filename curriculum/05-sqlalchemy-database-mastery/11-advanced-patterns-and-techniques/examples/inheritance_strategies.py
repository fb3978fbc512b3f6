"""One payment hierarchy mapped three ways: the DDL and the SQL of each inheritance strategy."""

import os
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Engine,
    ForeignKey,
    Numeric,
    String,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import MultipleResultsFound
from sqlalchemy.ext.declarative import AbstractConcreteBase
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    selectin_polymorphic,
    with_polymorphic,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class SqlLog:
    """Prints every statement the engine sends while active, and counts them."""

    def __init__(self, engine: Engine, title: str) -> None:
        self.engine, self.title, self.count = engine, title, 0

    def _show(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        self.count += 1
        print("   SQL:", " ".join(statement.split()))

    def __enter__(self) -> "SqlLog":
        print(f" - {self.title}")
        event.listen(self.engine, "before_cursor_execute", self._show)
        return self

    def __exit__(self, *exc_info: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._show)


# Single table: one table, a discriminator, subclass columns that must be nullable.
class SingleBase(DeclarativeBase):
    pass


class SinglePayment(SingleBase):
    __tablename__ = "s5_11_single_payments"
    __table_args__ = (
        CheckConstraint("kind <> 'card' OR card_last4 IS NOT NULL", name="card_has_last4"),
        CheckConstraint("kind <> 'bank' OR iban IS NOT NULL", name="bank_has_iban"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    invoice_number: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    __mapper_args__ = {"polymorphic_on": kind, "polymorphic_abstract": True}  # noqa: RUF012


class SingleCard(SinglePayment):
    card_last4: Mapped[str | None] = mapped_column(String(4))
    __mapper_args__ = {"polymorphic_identity": "card"}  # noqa: RUF012


class SingleBank(SinglePayment):
    iban: Mapped[str | None] = mapped_column(String(34))
    __mapper_args__ = {"polymorphic_identity": "bank"}  # noqa: RUF012


# Joined table: a base table plus one table per subclass, sharing the primary key.
class JoinedBase(DeclarativeBase):
    pass


class JoinedPayment(JoinedBase):
    __tablename__ = "s5_11_joined_payments"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    invoice_number: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    __mapper_args__ = {"polymorphic_on": kind, "polymorphic_abstract": True}  # noqa: RUF012


class JoinedCard(JoinedPayment):
    __tablename__ = "s5_11_joined_card_payments"
    id: Mapped[int] = mapped_column(
        ForeignKey(JoinedPayment.id, ondelete="CASCADE"), primary_key=True
    )
    card_last4: Mapped[str] = mapped_column(String(4))
    __mapper_args__ = {"polymorphic_identity": "card"}  # noqa: RUF012


class JoinedBank(JoinedPayment):
    __tablename__ = "s5_11_joined_bank_payments"
    id: Mapped[int] = mapped_column(
        ForeignKey(JoinedPayment.id, ondelete="CASCADE"), primary_key=True
    )
    iban: Mapped[str] = mapped_column(String(34))
    __mapper_args__ = {"polymorphic_identity": "bank"}  # noqa: RUF012


# Concrete table: one complete table per subclass and no table for the abstract base.
class ConcreteBase(DeclarativeBase):
    pass


class ConcretePayment(AbstractConcreteBase, ConcreteBase):
    strict_attrs = True
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    invoice_number: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class ConcreteCard(ConcretePayment):
    __tablename__ = "s5_11_concrete_card_payments"
    card_last4: Mapped[str] = mapped_column(String(4))
    __mapper_args__ = {"polymorphic_identity": "card", "concrete": True}  # noqa: RUF012


class ConcreteBank(ConcretePayment):
    __tablename__ = "s5_11_concrete_bank_payments"
    iban: Mapped[str] = mapped_column(String(34))
    __mapper_args__ = {"polymorphic_identity": "bank", "concrete": True}  # noqa: RUF012


def detail(payment: object) -> str:
    last4 = getattr(payment, "card_last4", None)
    return f"card *{last4}" if last4 else f"bank {getattr(payment, 'iban', '?')[:8]}..."


def demo(engine: Engine, name: str, base: type[DeclarativeBase], classes: tuple[Any, ...]) -> None:
    payment, card, bank = classes
    print(f"== {name} ==")
    with SqlLog(engine, "CREATE TABLE"):
        base.metadata.create_all(engine, checkfirst=False)
    with Session(engine) as session, SqlLog(engine, "save two card payments and a bank transfer"):
        session.add_all(
            [
                card(invoice_number="INV-1001", amount=Decimal("120.00"), card_last4="4242"),
                bank(invoice_number="INV-1002", amount=Decimal("75.50"), iban="DE44500105175407"),
                card(invoice_number="INV-1003", amount=Decimal("9.99"), card_last4="1881"),
            ]
        )
        session.commit()
    with Session(engine) as session, SqlLog(engine, "select(Payment), read the details") as log:
        rows = session.scalars(select(payment).order_by(payment.invoice_number)).all()
        details = [detail(row) for row in rows]
    print(f"   -> {details}: {log.count} statement(s) for {len(rows)} rows")
    if payment is not ConcretePayment:
        everything = with_polymorphic(payment, "*")
        with Session(engine) as session, SqlLog(engine, "with_polymorphic(Payment, '*')") as log:
            query = select(everything).order_by(everything.invoice_number)
            details = [detail(row) for row in session.scalars(query)]
        print(f"   -> {log.count} statement")
    if payment is JoinedPayment:
        options = selectin_polymorphic(payment, [card, bank])
        with Session(engine) as session, SqlLog(engine, "selectin_polymorphic(...)") as log:
            query = select(payment).options(options).order_by(payment.invoice_number)
            details = [detail(row) for row in session.scalars(query)]
        print(f"   -> {log.count} statements: one per subclass, not one per row")
    with Session(engine) as session, SqlLog(engine, "select(CardPayment) by last4"):
        session.scalars(select(card).where(card.card_last4 == "4242")).all()


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    bases = (SingleBase, JoinedBase, ConcreteBase)
    for base in bases:
        base.metadata.drop_all(engine)
    try:
        demo(engine, "single table", SingleBase, (SinglePayment, SingleCard, SingleBank))
        demo(engine, "joined table", JoinedBase, (JoinedPayment, JoinedCard, JoinedBank))
        demo(engine, "concrete table", ConcreteBase, (ConcretePayment, ConcreteCard, ConcreteBank))
        print("== concrete: each table has its own id sequence ==")
        with Session(engine) as session:
            try:
                session.get(ConcretePayment, 1)
            except MultipleResultsFound as error:
                print(f"   session.get(Payment, 1): MultipleResultsFound: {error}")
    finally:
        for base in bases:
            base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
