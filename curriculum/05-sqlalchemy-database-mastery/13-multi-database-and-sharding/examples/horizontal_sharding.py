"""Three shard databases behind one ShardedSession (sqlalchemy.ext.horizontal_shard).

The shard key is the tenant. A directory maps each tenant to a shard, every sharded table
carries the tenant column, and ids are unique across shards because each shard's identity
column starts at the shard's number and steps by 16, so `id % 16` names the shard.
The three databases are created at start and dropped at the end.
"""

import heapq
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    URL,
    BigInteger,
    Column,
    Engine,
    ForeignKey,
    Identity,
    Numeric,
    String,
    create_engine,
    event,
    func,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.ext.horizontal_shard import ShardedSession
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    mapped_column,
    relationship,
)
from sqlalchemy.orm.state import InstanceState
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("orders.shards")

SHARD_NUMBERS = {"eu": 1, "us": 2, "ap": 3}
ID_STRIDE = 16  # room for 16 shards before ids must be re-encoded
TENANT_DIRECTORY = {"acme": "eu", "globex": "us", "initech": "us", "umbrella": "ap"}


class UnknownTenantError(LookupError):
    pass


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "s5_13_sharded_orders"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(30), index=True)
    total: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order")


class OrderLine(Base):
    __tablename__ = "s5_13_sharded_order_lines"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tenant: Mapped[str] = mapped_column(String(30))  # the shard key travels with every row
    order_id: Mapped[int] = mapped_column(ForeignKey(Order.id))
    sku: Mapped[str] = mapped_column(String(20))
    order: Mapped[Order] = relationship(back_populates="lines")


def shard_for_tenant(tenant: str) -> str:
    try:
        return TENANT_DIRECTORY[tenant]
    except KeyError:
        raise UnknownTenantError(f"tenant {tenant!r} has no shard in the directory") from None


def shard_for_id(row_id: int) -> str:
    number = row_id % ID_STRIDE
    return next(name for name, value in SHARD_NUMBERS.items() if value == number)


def shard_chooser(mapper: Mapper[Any] | None, instance: Any, clause: Any = None) -> str:
    """Where a new object is INSERTed: the shard of its tenant."""
    if instance is None:
        raise ValueError("no instance to choose a shard from; use set_shard_id()")
    return shard_for_tenant(instance.tenant)


def identity_chooser(
    mapper: Mapper[Any],
    primary_key: Any,
    *,
    lazy_loaded_from: InstanceState[Any] | None,
    **kw: Any,
) -> list[str]:
    """Which identity-map entries get() checks before it emits any SQL."""
    if lazy_loaded_from is not None:
        return [str(lazy_loaded_from.identity_token)]
    return [shard_for_id(primary_key[0])]


def execute_chooser(context: ORMExecuteState) -> Iterable[str]:
    """Where a SELECT runs: the parent's shard for a lazy load, the shard an id or a tenant
    in the WHERE clause points at, and every shard when it names neither."""
    if context.lazy_loaded_from is not None:
        return [str(context.lazy_loaded_from.identity_token)]
    shards: set[str] = set()
    params = context.parameters if isinstance(context.parameters, dict) else {}

    def visit_binary(binary: BinaryExpression[Any]) -> None:
        column, bind = binary.left, binary.right
        if not (isinstance(column, Column) and isinstance(bind, BindParameter)):
            return
        value: Any = params.get(bind.key, bind.effective_value)  # get() passes its id as a param
        if binary.operator is operators.eq:
            values = [value]
        elif binary.operator is operators.in_op:
            values = list(value)
        else:
            return
        if column.key == "tenant":
            shards.update(shard_for_tenant(tenant) for tenant in values)
        elif column.primary_key:
            shards.update(shard_for_id(row_id) for row_id in values)

    where = getattr(context.statement, "whereclause", None)
    if where is not None:
        visitors.traverse(where, {}, {"binary": visit_binary})
    return sorted(shards) or list(SHARD_NUMBERS)


def shard_url(base: URL, shard: str) -> URL:
    # Named after the examples database, so parallel runs (one per worker) never share a shard.
    suffix = (base.database or "").removeprefix("pymastery_examples")
    return base.set(database=f"s5_13_shard_{shard}{suffix}")


@contextmanager
def shard_databases(base: URL) -> Iterator[dict[str, Engine]]:
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    names = {shard: shard_url(base, shard).database for shard in SHARD_NUMBERS}
    with admin.connect() as conn:
        for name in names.values():
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engines = {shard: create_engine(shard_url(base, shard)) for shard in SHARD_NUMBERS}
    try:
        yield engines
    finally:
        for engine in engines.values():
            engine.dispose()
        with admin.connect() as conn:
            for name in names.values():
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def prepare_schema(shard: str, engine: Engine) -> None:
    Base.metadata.create_all(engine)
    start = SHARD_NUMBERS[shard]
    with engine.begin() as conn:
        for table in (Order.__tablename__, OrderLine.__tablename__):
            conn.execute(
                text(
                    f"ALTER TABLE {table} ALTER COLUMN id "
                    f"SET INCREMENT BY {ID_STRIDE} RESTART WITH {start}"
                )
            )


class ShardTrace:
    """Logs each statement with the shard that ran it and counts them."""

    def __init__(self, engines: dict[str, Engine]) -> None:
        self.statements = 0
        self.echo = True
        for shard, engine in engines.items():
            event.listen(engine, "before_cursor_execute", self._recorder(shard))

    def _recorder(self, shard: str) -> Callable[..., None]:
        def record(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
            self.statements += 1
            if self.echo:
                log.info("      [%s] %s", shard, " ".join(sql.split())[:86])

        return record


def demo(session: ShardedSession, trace: ShardTrace) -> None:
    log.info("1. each new order goes to its tenant's shard")
    for tenant, total, skus in [
        ("acme", "120.00", ["anvil"]),
        ("globex", "75.00", ["rope", "pulley"]),
        ("initech", "210.00", ["stapler"]),
        ("umbrella", "40.00", ["mask"]),
        ("acme", "330.00", ["rocket"]),
        ("globex", "18.00", ["tape"]),
    ]:
        order = Order(tenant=tenant, total=Decimal(total))
        order.lines = [OrderLine(tenant=tenant, sku=sku) for sku in skus]
        session.add(order)
    session.commit()
    for order in session.scalars(select(Order).order_by(Order.id)):
        shard = inspect(order).identity_token
        log.info("   order %2d  %-8s shard=%s", order.id, order.tenant, shard)
    session.expunge_all()

    log.info("2. get() by id: the id encodes the shard, so one shard is asked")
    found = session.get(Order, 18)
    assert found is not None
    log.info("   order 18: %s, identity token %r", found.tenant, inspect(found).identity_token)
    log.info("   its lines lazy-load from the same shard: %s", [line.sku for line in found.lines])

    log.info("3. a query naming its tenants runs only where they live")
    wanted = select(Order).where(Order.tenant.in_(["globex", "initech"]))
    log.info("   %d orders", len(session.scalars(wanted).all()))

    log.info("4. without a tenant it fans out, and LIMIT/ORDER BY/count apply per shard")
    before = trace.statements
    top = session.scalars(select(Order).order_by(Order.total.desc()).limit(2)).all()
    log.info("   limit(2) returned %d rows from %d queries", len(top), trace.statements - before)
    log.info("   scalar(count) says %d orders", session.scalar(select(func.count(Order.id))))
    counts = session.scalars(select(func.count(Order.id))).all()
    log.info("   the per-shard counts were %s, so the total is %d", counts, sum(counts))
    biggest = heapq.nlargest(2, top, key=lambda o: o.total)
    log.info("   merged in Python: top two totals %s", [str(o.total) for o in biggest])

    log.info("5. a tenant missing from the directory is refused before any SQL")
    session.add(Order(tenant="hooli", total=Decimal("1.00")))
    try:
        session.flush()
    except UnknownTenantError as error:
        log.warning("   UnknownTenantError: %s", error)
        session.rollback()


def measure(session: ShardedSession, rounds: int = 100) -> None:
    """Targeted (one shard) against fan-out (three shards, one after another)."""
    targeted = select(Order).where(Order.tenant == "acme")
    everywhere = select(Order).where(Order.total > 100)
    for label, stmt in (("one shard", targeted), ("three shards", everywhere)):
        started = time.perf_counter()
        for _ in range(rounds):
            session.scalars(stmt).all()
        per_query = (time.perf_counter() - started) / rounds * 1000
        log.info("   %-12s %.2f ms per query", label, per_query)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    with shard_databases(make_url(POSTGRES_URL)) as engines:
        for shard, engine in engines.items():
            prepare_schema(shard, engine)
        trace = ShardTrace(engines)
        with ShardedSession(
            shards=engines,
            shard_chooser=shard_chooser,
            identity_chooser=identity_chooser,
            execute_chooser=execute_chooser,
        ) as session:
            demo(session, trace)
            log.info("6. timing: 100 queries each, SQL logging off")
            trace.echo = False
            measure(session)


if __name__ == "__main__":
    main()
