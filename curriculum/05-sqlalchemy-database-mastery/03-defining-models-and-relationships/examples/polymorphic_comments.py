"""Comments that attach to invoices or customers: a generic foreign key versus an exclusive arc."""

import os
from typing import Any

import psycopg
from sqlalchemy import CheckConstraint, ForeignKey, String, create_engine, event, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_3_poly_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    comments: Mapped[list["CustomerComment"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )


class Invoice(Base):
    __tablename__ = "s5_3_poly_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30))
    comments: Mapped[list["InvoiceComment"]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", passive_deletes=True
    )


class GenericNote(Base):
    """The Rails-style polymorphic association: a type name plus an id, and no foreign key."""

    __tablename__ = "s5_3_poly_generic_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    target_type: Mapped[str] = mapped_column(String(30))
    target_id: Mapped[int]
    body: Mapped[str] = mapped_column(String(500))


class Comment(Base):
    """An exclusive arc: one nullable FK per target type, and a CHECK that exactly one is set."""

    __tablename__ = "s5_3_poly_comments"
    __table_args__ = (
        CheckConstraint("num_nonnulls(invoice_id, customer_id) = 1", name="exactly_one_target"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(String(500))
    invoice_id: Mapped[int | None] = mapped_column(
        ForeignKey("s5_3_poly_invoices.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("s5_3_poly_customers.id", ondelete="CASCADE"), index=True
    )
    # SQLAlchemy reads these dicts once, when the class is mapped. RUF012 asks for ClassVar, but
    # DeclarativeBase types __mapper_args__ as an instance attribute and mypy rejects the override.
    __mapper_args__ = {"polymorphic_on": kind, "polymorphic_abstract": True}  # noqa: RUF012


class InvoiceComment(Comment):
    __mapper_args__ = {"polymorphic_identity": "invoice"}  # noqa: RUF012
    invoice: Mapped[Invoice] = relationship(back_populates="comments")


class CustomerComment(Comment):
    __mapper_args__ = {"polymorphic_identity": "customer"}  # noqa: RUF012
    customer: Mapped[Customer] = relationship(back_populates="comments")


def show_select(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
    if statement.startswith("SELECT"):
        print("   SQL:", " ".join(statement.split()), dict(sorted(params.items())))


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            acme, inv = Customer(name="Acme GmbH"), Invoice(number="INV-7")
            acme.comments.append(CustomerComment(body="Prefers PDF invoices"))
            inv.comments.append(InvoiceComment(body="Disputed line 2"))
            session.add_all([acme, inv])
            session.commit()

            print("1. one query, objects of the right subclass")
            event.listen(engine, "before_cursor_execute", show_select)
            for comment in session.scalars(select(Comment).order_by(Comment.id)):
                print(f"   {type(comment).__name__}: {comment.body!r}")
            print("2. querying a subclass adds the discriminator filter")
            session.scalars(select(InvoiceComment)).all()
            event.remove(engine, "before_cursor_execute", show_select)

            print("3. the database refuses a comment with two targets")
            try:
                with session.begin_nested():
                    session.execute(
                        insert(Comment).values(
                            kind="invoice", body="?", invoice_id=inv.id, customer_id=acme.id
                        )
                    )
            except IntegrityError as exc:
                assert isinstance(exc.orig, psycopg.Error)
                print(f"   {type(exc.orig).__name__} on {exc.orig.diag.constraint_name}")

            print("4. the generic note accepts a target that does not exist")
            session.add(GenericNote(target_type="invoice", target_id=999, body="Orphan"))
            session.commit()

            print("5. deleting the invoice: its comment cascades, a generic note would linger")
            session.add(GenericNote(target_type="invoice", target_id=inv.id, body="Called AP"))
            session.delete(inv)
            session.commit()
            kinds = session.scalars(select(Comment.kind)).all()
            notes = session.scalars(select(GenericNote.target_id)).all()
            print(f"   comments left: {kinds}; generic notes left for invoice ids: {notes}")
    finally:
        if event.contains(engine, "before_cursor_execute", show_select):
            event.remove(engine, "before_cursor_execute", show_select)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
