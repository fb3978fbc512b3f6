"""A query-result cache for SQLAlchemy sessions: opt-in per statement, TTL, single-flight.

In-process only: redis-py is not installed in this project's environment, so a cache shared
between worker processes (Redis, module 13) is described in the lesson, not run here.
"""

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Engine,
    Numeric,
    Select,
    String,
    Table,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import FrozenResult, Result
from sqlalchemy.orm import DeclarativeBase, Mapped, ORMExecuteState, Session, mapped_column
from sqlalchemy.orm import sessionmaker as SessionFactory
from sqlalchemy.sql.visitors import iterate

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("result_cache")


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "s5_10_cache_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(20), unique=True)
    category: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


@dataclass
class Entry:
    frozen: FrozenResult[Any]
    expires_at: float
    tables: frozenset[str]


class ResultCache:
    """Caches the rows of SELECTs that carry execution_options(cache_ttl=seconds)."""

    def __init__(
        self,
        *,
        max_entries: int = 1_000,
        single_flight: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries, self.single_flight, self.clock = max_entries, single_flight, clock
        self.hits = self.misses = 0
        self._entries: OrderedDict[tuple[str, str], Entry] = OrderedDict()
        self._lock = threading.Lock()  # guards _entries and the counters
        self._stripes = [threading.Lock() for _ in range(64)]  # bounded, unlike a lock per key

    def install(self, sessions: SessionFactory[Session]) -> None:
        event.listen(sessions, "do_orm_execute", self._on_execute)

    def invalidate(self, table: str) -> int:
        with self._lock:
            stale = [key for key, entry in self._entries.items() if table in entry.tables]
            for key in stale:
                del self._entries[key]
        return len(stale)

    def _on_execute(self, state: ORMExecuteState) -> Result[Any] | None:
        ttl, stmt = state.execution_options.get("cache_ttl"), state.statement
        if ttl is None or not isinstance(stmt, Select):
            return None  # not opted in, or not a SELECT: run normally
        if any(d["expr"] is d["entity"] for d in stmt.column_descriptions):
            raise ValueError("cache rows of columns, not ORM objects bound to one session")
        compiled = stmt.compile(state.session.get_bind())
        key = (str(compiled), repr(sorted(compiled.params.items())) + repr(state.parameters))
        if (frozen := self._lookup(key)) is not None:
            return frozen()
        with self._flight(key):
            if (frozen := self._lookup(key)) is not None:  # filled while we waited
                return frozen()
            frozen = state.invoke_statement().freeze()
            tables = frozenset(e.name for e in iterate(stmt) if isinstance(e, Table))  # joins too
            with self._lock:
                self.misses += 1
                self._entries[key] = Entry(frozen, self.clock() + float(ttl), tables)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)  # least recently used
        return frozen()

    def _lookup(self, key: tuple[str, str]) -> FrozenResult[Any] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires_at <= self.clock():
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry.frozen

    @contextmanager
    def _flight(self, key: tuple[str, str]) -> Iterator[None]:
        """With single_flight, one caller per key runs the query; the others wait for it."""
        if not self.single_flight:
            yield
            return
        with self._stripes[hash(key) % len(self._stripes)]:
            yield


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *_: Any) -> None:
        sent.append(sql)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def category_prices(category: str) -> Select[str, Decimal]:
    return (
        select(Product.sku, Product.price)
        .where(Product.category == category)
        .order_by(Product.sku)
        .execution_options(cache_ttl=30)
    )


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    engine = create_engine(POSTGRES_URL)
    sessions = SessionFactory(engine)
    clock = FakeClock()
    cache = ResultCache(clock=clock)
    cache.install(sessions)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    try:
        with sessions.begin() as session:
            session.add_all(
                Product(sku=f"SKU-{n:03d}", category=("tools", "paint")[n % 2], price=n + 0.5)
                for n in range(1, 9)
            )

        print("1. hits and misses")
        for category in ("tools", "tools", "paint"):
            with counted(engine) as sent, sessions() as session:
                rows = session.execute(category_prices(category)).all()
            print(f"   {category:<5} -> {len(sent)} statement(s) sent, {len(rows)} rows, {rows[0]}")

        print("2. a write the cache does not know about")
        with sessions.begin() as session:
            session.execute(update(Product).where(Product.sku == "SKU-002").values(price=99))
        with sessions() as session:
            print(f"   cached : {session.execute(category_prices('tools')).first()}")
            print(f"   invalidated {cache.invalidate(Product.__tablename__)} entries")
            print(f"   fresh  : {session.execute(category_prices('tools')).first()}")

        print("3. the TTL, on a fake clock")
        clock.now += 31
        with counted(engine) as sent, sessions() as session:
            session.execute(category_prices("tools")).all()
        print(f"   31 s later -> {len(sent)} statement(s) sent")
        print(f"   counters: hits={cache.hits} misses={cache.misses}")

        print("4. eight threads ask for one expired, slow summary at the same moment")
        slow_summary = select(
            func.count(Product.id), func.sum(Product.price), func.pg_sleep(0.3)
        ).execution_options(cache_ttl=60)
        for single_flight in (False, True):
            cache.single_flight = single_flight
            cache.invalidate(Product.__tablename__)
            start = threading.Barrier(8)

            def read(start: threading.Barrier) -> None:
                start.wait()
                with sessions() as session:
                    session.execute(slow_summary).one()

            with counted(engine) as sent:
                threads = [threading.Thread(target=read, args=(start,)) for _ in range(8)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
            print(
                f"   single_flight={single_flight!s:<5} -> {len(sent)} statement(s) for 8 readers"
            )

        print("5. ORM entities are refused")
        with sessions() as session:
            try:
                session.scalars(select(Product).execution_options(cache_ttl=30)).all()
            except ValueError as exc:
                print(f"   ValueError: {exc}")
    finally:
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
