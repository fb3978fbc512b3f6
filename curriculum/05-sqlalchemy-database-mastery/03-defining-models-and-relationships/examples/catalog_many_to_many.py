"""Many-to-many two ways: a plain association table, and an association object with data."""

import os
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import Column, ForeignKey, Index, Numeric, String, Table, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


# No class: the rows carry nothing but the two keys, so a Core Table is enough.
product_tags = Table(
    "s5_3_m2m_product_tags",
    Base.metadata,
    Column("product_id", ForeignKey("s5_3_m2m_products.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("s5_3_m2m_tags.id", ondelete="CASCADE"), primary_key=True),
    # The PK index starts with product_id; "products with tag X" needs its own index.
    Index("ix_s5_3_m2m_product_tags_tag_id", "tag_id"),
)


class Product(Base):
    __tablename__ = "s5_3_m2m_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    tags: Mapped[list["Tag"]] = relationship(secondary=product_tags, back_populates="products")


class Tag(Base):
    __tablename__ = "s5_3_m2m_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    products: Mapped[list[Product]] = relationship(secondary=product_tags, back_populates="tags")


class Order(Base):
    __tablename__ = "s5_3_m2m_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40))
    lines: Mapped[list["OrderLine"]] = relationship(cascade="all, delete-orphan")


class OrderLine(Base):
    """The association object: the link row itself has columns, so it gets a class."""

    __tablename__ = "s5_3_m2m_order_lines"

    order_id: Mapped[int] = mapped_column(
        ForeignKey("s5_3_m2m_orders.id", ondelete="CASCADE"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("s5_3_m2m_products.id"), primary_key=True)
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    product: Mapped[Product] = relationship()


def show_sql(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
    """Print each statement on one line, with its parameters in a stable key order."""
    rows = [dict(sorted(row.items())) for row in (params if isinstance(params, list) else [params])]
    print("   SQL:", " ".join(statement.split()), rows[0] if len(rows) == 1 else rows)


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            kettle, mug = Product(sku="KETTLE-1"), Product(sku="MUG-12")
            kitchen, gift = Tag(name="kitchen"), Tag(name="gift")
            session.add_all([kettle, mug, kitchen, gift])
            session.flush()
            event.listen(engine, "before_cursor_execute", show_sql)

            print("1. link rows are written by the ORM; no class needed")
            kettle.tags.extend([kitchen, gift])
            mug.tags.append(gift)
            session.flush()
            print("   gift.products:", [p.sku for p in gift.products])

            print("2. unlinking deletes the row in the association table only")
            kettle.tags.remove(gift)
            session.flush()

            print("3. an association object carries quantity and price")
            order = Order(reference="SO-1001")
            order.lines.append(OrderLine(product=mug, quantity=4, unit_price=Decimal("9.50")))
            session.add(order)
            session.flush()
            total = sum(line.quantity * line.unit_price for line in order.lines)
            print(f"   order total: {total}")

            print("4. a list collection accepts a duplicate, e.g. a form that sent a tag twice")
            mug.tags.extend([kitchen, kitchen])
            try:
                session.flush()
            except IntegrityError as exc:
                assert isinstance(exc.orig, psycopg.Error)
                print(f"   {type(exc.orig).__name__}: {exc.orig.diag.message_primary}")
                session.rollback()
    finally:
        if event.contains(engine, "before_cursor_execute", show_sql):
            event.remove(engine, "before_cursor_execute", show_sql)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
