"""Two databases, one Session: orders in PostgreSQL, the product catalogue in MariaDB.

Each database gets its own engine, built from one settings table, and the Session picks an
engine per mapped class through `binds`. The example shows what that buys (one unit of work
across both) and what it does not (one atomic commit, or a JOIN between them).
"""

import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    ForeignKey,
    Numeric,
    String,
    create_engine,
    event,
    exc,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    relationship,
    sessionmaker,
)

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
MYSQL_URL = os.environ.get(
    "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
)
log = logging.getLogger("shop.databases")


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    pool_size: int
    max_overflow: int
    pool_recycle: int = -1  # seconds; -1 keeps connections forever
    connect_args: dict[str, Any] = field(default_factory=dict)


# One table of settings, one engine per entry, built once per process.
DATABASES = {
    "orders": DatabaseSettings(
        POSTGRES_URL, pool_size=5, max_overflow=5, connect_args={"application_name": "shop-api"}
    ),
    # MariaDB closes connections idle for wait_timeout (28800 s here); recycle well before.
    "catalog": DatabaseSettings(MYSQL_URL, pool_size=3, max_overflow=2, pool_recycle=3600),
}


def build_engines(settings: dict[str, DatabaseSettings]) -> dict[str, Engine]:
    return {
        name: create_engine(
            s.url,
            pool_size=s.pool_size,
            max_overflow=s.max_overflow,
            pool_recycle=s.pool_recycle,
            pool_pre_ping=True,
            connect_args=s.connect_args,
            logging_name=name,  # log lines read sqlalchemy.engine.Engine.orders / .catalog
        )
        for name, s in settings.items()
    }


class OrdersBase(DeclarativeBase):
    pass


class CatalogBase(DeclarativeBase):
    pass


class Product(CatalogBase):
    __tablename__ = "s5_13_products"

    sku: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class Order(OrdersBase):
    __tablename__ = "s5_13_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer: Mapped[str] = mapped_column(String(60))
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order")


class OrderLine(OrdersBase):
    __tablename__ = "s5_13_order_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id))
    sku: Mapped[str] = mapped_column(String(20))  # a reference into another database: no FK
    quantity: Mapped[int]
    order: Mapped[Order] = relationship(back_populates="lines")


@contextmanager
def traced(engines: dict[str, Engine], echo: bool = True) -> Iterator[Counter[str]]:
    """Count (and print) statements per database; collect COMMITs per database."""
    counts: Counter[str] = Counter()
    listeners: list[tuple[Engine, str, Any]] = []
    for name, engine in engines.items():

        def statement(conn: Any, cursor: Any, sql: str, *_: Any, name: str = name) -> None:
            counts[name] += 1
            if echo:
                log.info("      [%s] %s", name, " ".join(sql.split())[:88])

        def commit(conn: Any, name: str = name) -> None:
            counts[f"{name} COMMIT"] += 1

        listeners += [(engine, "before_cursor_execute", statement), (engine, "commit", commit)]
    for engine, name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield counts
    finally:
        for engine, name, fn in listeners:
            event.remove(engine, name, fn)


def invoice_lines(session: Session, order_id: int) -> list[tuple[str, int, Decimal]]:
    """The application-side join: one query per database, matched up in Python."""
    lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)).all()
    skus = {line.sku for line in lines}
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    return [
        (products[line.sku].name, line.quantity, products[line.sku].price * line.quantity)
        for line in lines
    ]


def demo(engines: dict[str, Engine], factory: sessionmaker[Session]) -> None:
    log.info("1. one unit of work, two databases: each class goes to its own engine")
    with traced(engines) as counts, factory() as session:
        session.add_all(
            [
                Product(sku="ANV-10", name="Anvil, 10 kg", price=Decimal("89.00")),
                Product(sku="RPE-25", name="Rope, 25 m", price=Decimal("24.50")),
                Product(sku="PUL-02", name="Pulley, double", price=Decimal("17.25")),
            ]
        )
        order = Order(customer="Acme Hardware")
        order.lines = [
            OrderLine(sku="ANV-10", quantity=1),
            OrderLine(sku="RPE-25", quantity=4),
            OrderLine(sku="PUL-02", quantity=2),
            OrderLine(sku="RPE-25", quantity=1),
        ]
        session.add(order)
        session.commit()
        order_id = order.id
    log.info("   COMMITs: orders=%d catalog=%d", counts["orders COMMIT"], counts["catalog COMMIT"])

    log.info("2. a JOIN across the two is sent, whole, to one of them")
    with factory() as session:
        joined = select(OrderLine.quantity, Product.name).join(
            Product, Product.sku == OrderLine.sku
        )
        try:
            session.execute(joined).all()
        except exc.ProgrammingError as error:
            log.warning("   %s", str(error.orig).splitlines()[0])

    log.info("3. application-side join: one query per database")
    with traced(engines, echo=False) as counts, factory() as session:
        for name, quantity, amount in invoice_lines(session, order_id):
            log.info("   %-16s x%d  %8s", name, quantity, amount)
    log.info("   statements: orders=%d catalog=%d", counts["orders"], counts["catalog"])
    with traced(engines, echo=False) as counts, factory() as session:
        lines = session.scalars(select(OrderLine).where(OrderLine.order_id == order_id)).all()
        names = [session.get_one(Product, line.sku).name for line in lines]
    log.info(
        "   the same with get() per line: orders=%d catalog=%d (%d lines, %d distinct skus)",
        counts["orders"],
        counts["catalog"],
        len(names),
        len(set(names)),
    )


class RecordCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def two_phase(engines: dict[str, Engine]) -> None:
    log.info("4. twophase=True: PREPARE on both, then COMMIT PREPARED on both")
    pool_log = logging.getLogger("sqlalchemy.pool")
    pool_log.propagate = False  # keep its traceback out; we print its message below
    handler = RecordCollector()
    pool_log.addHandler(handler)
    factory = sessionmaker(
        binds={OrdersBase: engines["orders"], CatalogBase: engines["catalog"]}, twophase=True
    )
    try:
        with factory() as session:
            session.add(Product(sku="BLT-08", name="Bolt, M8", price=Decimal("0.40")))
            session.add(Order(customer="Initech"))
            try:
                session.commit()
            except exc.DBAPIError as error:
                log.warning("   raised: %s", str(error.orig).splitlines()[0])
                cause = error.__context__
                while cause is not None and not isinstance(cause, exc.DBAPIError):
                    cause = cause.__context__
                if cause is not None:
                    log.warning("   because: %s", " / ".join(str(cause.orig).splitlines()))
    finally:
        pool_log.removeHandler(handler)
        pool_log.propagate = True
    for record in handler.records:
        assert record.exc_info is not None and record.exc_info[1] is not None
        log.warning("   pool logged: %s (%s)", record.getMessage(), record.exc_info[1])
    with Session(engines["catalog"]) as session:
        log.info("   bolt in the catalogue afterwards: %s", session.get(Product, "BLT-08"))


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engines = build_engines(DATABASES)
    binds: dict[type[Any], Engine] = {
        OrdersBase: engines["orders"],
        CatalogBase: engines["catalog"],
    }
    for base, engine in binds.items():
        base.metadata.drop_all(engine)
        base.metadata.create_all(engine)
    factory = sessionmaker(binds=binds)
    try:
        demo(engines, factory)
        two_phase(engines)
    finally:
        for base, engine in binds.items():
            base.metadata.drop_all(engine)
            engine.dispose()


if __name__ == "__main__":
    main()
