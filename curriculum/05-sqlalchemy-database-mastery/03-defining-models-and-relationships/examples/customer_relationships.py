"""One-to-many and one-to-one relationships, with every statement the ORM sends."""

import os
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, create_engine, event, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_3_rel_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # One-to-many: a list annotation makes a collection; the FK lives on the invoices table.
    invoices: Mapped[list["Invoice"]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Invoice.number",
    )
    # One-to-one: a scalar annotation on the side that does not hold the FK sets uselist=False.
    billing_address: Mapped["BillingAddress | None"] = relationship(
        back_populates="customer", cascade="all, delete-orphan"
    )


class Invoice(Base):
    __tablename__ = "s5_3_rel_invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_rel_customers.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(30))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    customer: Mapped[Customer] = relationship(back_populates="invoices")


class BillingAddress(Base):
    __tablename__ = "s5_3_rel_billing_addresses"

    # Shared primary key: the FK *is* the PK, so a customer can never have two addresses.
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_rel_customers.id", ondelete="CASCADE"), primary_key=True
    )
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2))
    customer: Mapped[Customer] = relationship(back_populates="billing_address")


def show_sql(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
    """Print each statement on one line, with its parameters in a stable key order."""
    rows = [dict(sorted(row.items())) for row in (params if isinstance(params, list) else [params])]
    print("   SQL:", " ".join(statement.split()), rows[0] if len(rows) == 1 else rows)


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    event.listen(engine, "before_cursor_execute", show_sql)
    try:
        with Session(engine) as session:
            acme = Customer(name="Acme GmbH")
            inv_2 = Invoice(number="INV-2", total=Decimal("80.00"))
            acme.invoices = [Invoice(number="INV-1", total=Decimal("120.00")), inv_2]
            acme.billing_address = BillingAddress(city="Berlin", country="DE")
            print("1. back_populates links both sides before any SQL:", inv_2.customer is acme)
            session.add(acme)  # save-update cascade adds the invoices and the address too
            session.commit()

        with Session(engine) as session:
            print("2. load a customer, then touch each relationship")
            acme = session.scalars(select(Customer).where(Customer.name == "Acme GmbH")).one()
            print("   invoices:", [invoice.number for invoice in acme.invoices])
            assert acme.billing_address is not None
            print("   billing city:", acme.billing_address.city)

            print("3. remove INV-2 from the collection (delete-orphan)")
            acme.invoices.remove(acme.invoices[1])
            session.flush()

            print("4. replace the billing address (same primary key -> UPDATE)")
            acme.billing_address = BillingAddress(city="Hamburg", country="DE")
            session.flush()

            session.commit()

        with Session(engine) as session:
            print("5. delete the customer in a fresh session; invoices are never loaded")
            acme = session.get_one(Customer, 1)
            session.delete(acme)
            session.commit()
            remaining = session.scalars(select(Invoice.number)).all()
            print("   invoices left after ON DELETE CASCADE:", remaining)
    finally:
        event.remove(engine, "before_cursor_execute", show_sql)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
