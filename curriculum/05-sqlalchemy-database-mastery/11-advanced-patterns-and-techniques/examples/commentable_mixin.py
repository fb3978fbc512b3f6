"""Mixins for shared columns, and a Commentable mixin that gives each parent row its own thread.

Every link is a real foreign key: invoice -> thread, customer -> thread, comment -> thread.
The thread's discriminator records which kind of parent owns it, so a comment can find its
parent in one hop, and a parent finds its comments through an indexed join.
"""

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    Engine,
    ForeignKey,
    String,
    create_engine,
    delete,
    event,
    func,
    inspect,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    declared_attr,
    mapped_column,
    relationship,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "s5_11_mix_tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Timestamped:
    """Plain columns on a mixin are copied into every table that uses it."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class TenantScoped:
    """A ForeignKey on a mixin column is fine in 2.x; a relationship() needs @declared_attr."""

    tenant_id: Mapped[int] = mapped_column(ForeignKey(Tenant.id, ondelete="CASCADE"), index=True)

    @declared_attr
    def tenant(cls) -> Mapped[Tenant]:
        return relationship(Tenant)


class CommentThread(Base):
    __tablename__ = "s5_11_mix_comment_threads"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_type: Mapped[str] = mapped_column(String(40))
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="thread", cascade="all, delete-orphan", passive_deletes=True
    )
    __mapper_args__ = {"polymorphic_on": parent_type}  # noqa: RUF012
    if TYPE_CHECKING:  # mapped on each generated subclass, see Commentable.comment_thread
        parent: "Commentable"


class Comment(Timestamped, Base):
    __tablename__ = "s5_11_mix_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(
        ForeignKey(CommentThread.id, ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(String(2000))
    thread: Mapped[CommentThread] = relationship(back_populates="comments")


class Commentable:
    """Adds comment_thread_id (a unique FK) and a thread subclass that knows its parent class."""

    if TYPE_CHECKING:  # each parent class maps its own primary key
        id: Mapped[int]

    @declared_attr
    def comment_thread_id(cls) -> Mapped[int | None]:
        return mapped_column(ForeignKey(CommentThread.id), unique=True)

    @declared_attr
    def comment_thread(cls: Any) -> Mapped[CommentThread | None]:
        thread_class = type(
            f"{cls.__name__}CommentThread",
            (CommentThread,),
            {
                "__mapper_args__": {"polymorphic_identity": cls.__name__.lower()},
                "parent": relationship(cls, back_populates="comment_thread", uselist=False),
            },
        )
        return relationship(
            thread_class, back_populates="parent", cascade="all, delete-orphan", single_parent=True
        )

    def add_comment(self, author: str, body: str) -> Comment:
        if self.comment_thread is None:
            thread_class = inspect(type(self)).relationships["comment_thread"].mapper.class_
            self.comment_thread = thread_class()
        comment = Comment(author=author, body=body)
        self.comment_thread.comments.append(comment)
        return comment


class Invoice(Commentable, TenantScoped, Timestamped, Base):
    __tablename__ = "s5_11_mix_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20))


class Customer(Commentable, TenantScoped, Timestamped, Base):
    __tablename__ = "s5_11_mix_customers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


def show(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
    sql = " ".join(statement.split())
    if not sql.startswith("CREATE TABLE s5_11_mix_tenants"):  # it teaches nothing here
        print("   SQL:", sql)


def main() -> None:
    engine: Engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)
    try:
        print("1. the tables: mixin columns copied, one unique FK to a thread per parent table")
        event.listen(engine, "before_cursor_execute", show)
        Base.metadata.create_all(engine, checkfirst=False)
        event.remove(engine, "before_cursor_execute", show)
        with Session(engine) as session:
            acme = Tenant(name="Acme")
            invoice = Invoice(number="INV-2001", tenant=acme)
            customer = Customer(name="Globex AG", tenant=acme)
            session.add_all([invoice, customer])
            session.flush()
            print("2. the first comment creates the thread, the second reuses it")
            event.listen(engine, "before_cursor_execute", show)
            invoice.add_comment("ana", "Customer disputes line 2")
            session.flush()
            invoice.add_comment("ben", "Credit note issued")
            customer.add_comment("ana", "Prefers PDF invoices")
            session.commit()

            print("3. from any comment to its parent: one hop through the thread")
            latest = session.scalars(select(Comment).order_by(Comment.id.desc()).limit(2))
            for comment in latest:
                owner = comment.thread.parent
                print(f"   {comment.body!r} is on {type(owner).__name__} {owner.id}")

            print("4. a parent's comments: an inner join on indexed foreign keys")
            query = (
                select(Invoice.number, Comment.author, Comment.body)
                .join(Invoice.comment_thread)
                .join(CommentThread.comments)
                .order_by(Comment.id)
            )
            for number, author, body in session.execute(query):
                print(f"   {number} {author}: {body}")

            print("5. deleting through the ORM removes the thread; the database cascades comments")
            session.delete(invoice)
            session.commit()
            event.remove(engine, "before_cursor_execute", show)

            print("6. a raw DELETE of a parent leaves its thread behind")
            session.execute(delete(Customer))
            session.commit()
            orphans = session.scalar(
                select(func.count(CommentThread.id)).where(
                    ~CommentThread.id.in_(select(Customer.comment_thread_id))
                    & ~CommentThread.id.in_(select(Invoice.comment_thread_id))
                )
            )
            comments_left = session.scalar(select(func.count(Comment.id)))
            print(f"   orphaned threads: {orphans}, comments still stored: {comments_left}")
    finally:
        if event.contains(engine, "before_cursor_execute", show):
            event.remove(engine, "before_cursor_execute", show)
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
