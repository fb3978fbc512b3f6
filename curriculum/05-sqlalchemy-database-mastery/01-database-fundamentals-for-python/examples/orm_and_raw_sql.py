"""What an ORM adds over a bare driver, and raw SQL living in the same session."""

import os
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Numeric, String, create_engine, event, select, text
from sqlalchemy.dialects.mysql.pymysql import MySQLDialect_pymysql
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "s5_1_orm_tenants"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    invoices: Mapped[list["Invoice"]] = relationship(back_populates="tenant")


class Invoice(Base):
    __tablename__ = "s5_1_orm_invoices"
    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("s5_1_orm_tenants.id"))
    number: Mapped[str] = mapped_column(String(20), unique=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    tenant: Mapped[Tenant] = relationship(back_populates="invoices")


@dataclass(frozen=True)
class RunningTotal:
    number: str
    amount: Decimal
    running_total: Decimal
    share_of_tenant: Decimal


REPORT = text("""
    SELECT i.number, i.amount,
           sum(i.amount) OVER (ORDER BY i.number) AS running_total,
           round(100 * i.amount / sum(i.amount) OVER (), 1) AS share_of_tenant
    FROM s5_1_orm_invoices AS i JOIN s5_1_orm_tenants AS t ON t.id = i.tenant_id
    WHERE t.name = :tenant
    ORDER BY i.number
""")

engine = create_engine(
    os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    )
)


class StatementLog:
    """Sees every statement SQLAlchemy hands to the DB-API cursor."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.recording = False

    def __call__(self, conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if self.recording:
            self.statements.append(statement)
            print("  SQL>", textwrap.shorten(statement, width=96, placeholder=" ..."))


sent = StatementLog()
event.listen(engine, "before_cursor_execute", sent)


def main() -> None:
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    sent.recording = True
    with Session(engine) as session:
        print("1. unit of work: 2 tenants and 5 invoices added, then commit()")
        acme, globex = Tenant(name="acme"), Tenant(name="globex")
        acme.invoices = [Invoice(number=f"INV-000{n}", amount=Decimal(n * 40)) for n in (1, 2, 3)]
        globex.invoices = [Invoice(number=f"INV-010{n}", amount=Decimal("99.99")) for n in (1, 2)]
        session.add_all([acme, globex])
        session.commit()
        print(f"   {len(sent.statements)} INSERTs for 7 objects, parents first")

        print("2. identity map: the same primary key twice")
        sent.statements.clear()
        first = session.get(Invoice, 1)
        second = session.get(Invoice, 1)
        print(f"   same object: {first is second}; statements sent: {len(sent.statements)}")

        print("3. one expression, two dialects")
        query = select(Invoice.number).where(Invoice.number.ilike("inv-01%")).limit(5)
        for dialect in (engine.dialect, MySQLDialect_pymysql()):
            compiled = " ".join(str(query.compile(dialect=dialect)).split())
            print(f"   {dialect.name}: {compiled}")

        print("4. raw SQL through the same session, mapped to a dataclass")
        rows = session.execute(REPORT, {"tenant": "acme"}).mappings()
        for row in (RunningTotal(**row) for row in rows):
            print(f"   {row}")
        where = sent.statements[-1].split("WHERE")[1].split("ORDER")[0].strip()
        print(f"   the driver received ':tenant' as: WHERE {where}")
    sent.recording = False
    Base.metadata.drop_all(engine)
    engine.dispose()


if __name__ == "__main__":
    main()
