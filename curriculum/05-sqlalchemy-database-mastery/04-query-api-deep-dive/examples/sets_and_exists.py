"""UNION / EXCEPT / INTERSECT, and EXISTS, any(), has(), NOT IN versus NOT EXISTS, = ANY."""

import os
from datetime import date
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    any_,
    bindparam,
    create_engine,
    except_,
    exists,
    intersect,
    select,
    union,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import CompileError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, aliased, mapped_column, relationship
from sqlalchemy.sql import CompoundSelect, Select

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
engine = create_engine(POSTGRES_URL)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_4_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    region: Mapped[str] = mapped_column(String(4))
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("s5_4_customers.id"))
    orders: Mapped[list["Order"]] = relationship(back_populates="customer")

    def __repr__(self) -> str:
        return f"Customer({self.name})"


class Order(Base):
    __tablename__ = "s5_4_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("s5_4_customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    placed_on: Mapped[date]
    customer: Mapped[Customer] = relationship(back_populates="orders")


def seed(session: Session) -> None:
    people = [(1, "Acme", "EU", None), (2, "Globex", "US", 1), (3, "Initech", "EU", 1)]
    people += [(4, "Umbrella", "APAC", 3), (5, "Hooli", "US", None)]
    session.add_all(Customer(id=i, name=n, region=r, referred_by_id=by) for i, n, r, by in people)
    session.flush()
    orders = [(101, 1, "paid"), (102, 1, "refunded"), (103, 2, "paid"), (104, 3, "pending")]
    orders += [(105, 3, "refunded"), (106, 4, "paid")]
    session.add_all(
        Order(id=i, customer_id=c, status=s, placed_on=date(2024, 3, 1)) for i, c, s in orders
    )
    session.commit()


def show(
    session: Session,
    title: str,
    stmt: Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]],
    sql: bool = False,
) -> None:
    print(f"-- {title}")
    if sql:
        print(stmt.compile(engine))
    print("   ", [tuple(row) for row in session.execute(stmt)])


def set_operations(session: Session) -> None:
    refunded = select(Order.customer_id).where(Order.status == "refunded")
    pending = select(Order.customer_id).where(Order.status == "pending")
    paid = select(Order.customer_id).where(Order.status == "paid")
    show(session, "UNION removes duplicates", union(refunded, pending).order_by("customer_id"))
    keep_all = union_all(refunded, pending).order_by("customer_id")
    show(session, "UNION ALL keeps them: no de-duplication step", keep_all)
    show(session, "EXCEPT: paid, never refunded", except_(paid, refunded).order_by("customer_id"))
    show(session, "INTERSECT: paid and refunded", intersect(paid, refunded), sql=True)

    eu = select(Customer).where(Customer.region == "EU")
    referred_by_acme = select(Customer).where(Customer.referred_by_id == 1)
    both = union(eu, referred_by_acme).order_by(Customer.name)
    entities = session.scalars(select(Customer).from_statement(both)).all()
    print("-- ORM entities back from a UNION with from_statement():\n   ", entities)
    try:
        session.execute(union(select(Customer.id, Customer.name), select(Order.customer_id)))
    except CompileError as exc:
        print(f"-- UNION with a different column count, caught while compiling:\n    {exc}")
    try:
        session.execute(union(select(Customer.id), select(Customer.name)))
    except ProgrammingError as exc:
        print(f"-- UNION with mismatched types, caught by PostgreSQL:\n    {exc.orig}")
        session.rollback()


def exists_and_any(session: Session) -> None:
    refunded = Customer.orders.any(Order.status == "refunded")
    refunders = select(Customer.name).where(refunded).order_by(Customer.name)
    show(session, "relationship .any() renders a correlated EXISTS", refunders, sql=True)
    never = select(Customer.name).where(~Customer.orders.any()).order_by(Customer.name)
    show(session, "~.any(): customers with no orders at all", never)
    eu_orders = select(Order.id).where(Order.customer.has(region="EU")).order_by(Order.id)
    show(session, ".has() is the many-to-one side", eu_orders)
    hand_written = exists().where(Order.customer_id == Customer.id, Order.status == "pending")
    show(session, "exists() written by hand", select(Customer.name).where(hand_written))

    referrer_ids = select(Customer.referred_by_id)  # NULL for Acme and Hooli
    not_in = select(Customer.name).where(Customer.id.not_in(referrer_ids))
    show(session, "customers who referred nobody, NOT IN: the NULL empties it", not_in)
    referee = aliased(Customer, name="referee")  # the same table twice needs an alias
    not_exists = (
        select(Customer.name)
        .where(~exists().where(referee.referred_by_id == Customer.id))
        .order_by(Customer.name)
    )
    show(session, "the same question with NOT EXISTS", not_exists, sql=True)

    ids = [101, 104, 106]
    as_in = select(Order.id).where(Order.id.in_(ids))
    print("-- in_() expands to one placeholder per value at execution time:")
    print(as_in.compile(engine, compile_kwargs={"render_postcompile": True}))
    id_array = bindparam("ids", ids, type_=ARRAY(Integer))
    as_any = select(Order.id).where(Order.id == any_(id_array)).order_by(Order.id)
    show(session, "= ANY(array) sends one parameter whatever the list length", as_any, sql=True)


def main() -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            seed(session)
            set_operations(session)
            exists_and_any(session)
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
