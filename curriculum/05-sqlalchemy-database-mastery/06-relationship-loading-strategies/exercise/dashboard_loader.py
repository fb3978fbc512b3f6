"""Account-manager dashboard: customers, live orders and order lines in a fixed number of queries.

The models are given. Write the statement counter, the loader query and the pure-Python summary.
"""

from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, ForeignKey, Numeric, String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_6_ex_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    account_manager: Mapped[str] = mapped_column(String(50), index=True)
    orders: Mapped[list["Order"]] = relationship(back_populates="customer", order_by="Order.id")


class Order(Base):
    __tablename__ = "s5_6_ex_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    reference: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # "open", "shipped" or "cancelled"
    customer: Mapped[Customer] = relationship(back_populates="orders")
    lines: Mapped[list["OrderLine"]] = relationship(order_by="OrderLine.id")


class OrderLine(Base):
    __tablename__ = "s5_6_ex_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id), index=True)
    sku: Mapped[str] = mapped_column(String(20))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


@dataclass(frozen=True)
class DashboardRow:
    customer: str
    live_orders: int  # orders that are not cancelled
    order_value: Decimal  # sum of quantity * unit_price over the lines of those orders


class StatementCounter:
    """Count and record the SQL statements sent through `engine` while the block runs.

    with StatementCounter(engine) as counter:
        ...
    counter.count       -> number of statements sent inside the block
    counter.statements  -> their SQL text, in order

    The listener must be removed on exit, also when the block raises.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)

    def _record(
        self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        # TODO: remember the statement.
        raise NotImplementedError

    def __enter__(self) -> "StatementCounter":
        # TODO: attach _record to the engine's "before_cursor_execute" event.
        raise NotImplementedError

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # TODO: detach the listener; let any exception propagate.
        raise NotImplementedError


def load_dashboard(session: Session, account_manager: str, *, limit: int = 20) -> list[Customer]:
    """The account manager's customers, ordered by name, at most `limit` of them.

    Each customer arrives with `orders` holding only its non-cancelled orders, and each of those
    with its `lines`, so the objects can be read after the session closes. Any other relationship
    (for example `Order.customer`) must raise instead of loading. The number of statements must
    not grow with the number of customers, and the cancelled orders must be left out even when
    this session already holds a customer's full `orders` collection.
    """
    # TODO: one select() with loader options; no loops that touch the database.
    raise NotImplementedError


def dashboard_rows(customers: list[Customer]) -> list[DashboardRow]:
    """One row per customer, in the order given, computed from already-loaded objects only."""
    # TODO: count the loaded orders and sum quantity * unit_price of their lines.
    raise NotImplementedError
