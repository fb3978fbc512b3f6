"""The database layer of a small service: engine, session factory, unit of work, table inspection.

Everything here is created once per process and shared; request handlers and jobs only ever
see `unit_of_work(...)` and the objects it yields.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine, MetaData, Table, create_engine
from sqlalchemy.orm import Session, sessionmaker


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str  # as PostgreSQL spells it, e.g. "NUMERIC(10, 2)", "TIMESTAMP WITH TIME ZONE"
    nullable: bool


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: tuple[ColumnInfo, ...]  # in table order
    primary_key: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str], ...]  # (local column, "table.column"), sorted


def build_engine(
    url: str,
    *,
    application_name: str,
    pool_size: int = 5,
    max_overflow: int = 0,
    pool_timeout: float = 5.0,
    statement_timeout_ms: int = 5_000,
) -> Engine:
    """Create the process-wide engine.

    Requirements: a QueuePool with exactly the given size, overflow and checkout timeout;
    stale connections detected before use; every connection tagged with application_name
    and limited by statement_timeout_ms on the server.
    """
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        connect_args={
            "application_name": application_name,
            "options": f"-c statement_timeout={statement_timeout_ms}",
        },
    )


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to engine whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session in a transaction: commit on success, roll back and re-raise on error,
    and always return the connection to the pool."""
    with factory.begin() as session:
        yield session


def describe_table(engine: Engine, table_name: str) -> TableInfo:
    """Reflect table_name and describe it. Raises sqlalchemy.exc.NoSuchTableError if absent."""
    table = Table(table_name, MetaData(), autoload_with=engine)
    columns = tuple(
        ColumnInfo(col.name, col.type.compile(dialect=engine.dialect), bool(col.nullable))
        for col in table.columns
    )
    foreign_keys = sorted((fk.parent.name, fk.target_fullname) for fk in table.foreign_keys)
    return TableInfo(
        name=table.name,
        columns=columns,
        primary_key=tuple(col.name for col in table.primary_key),
        foreign_keys=tuple(foreign_keys),
    )
