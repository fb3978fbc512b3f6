"""The database layer of a small service: engine, session factory, unit of work, drift check.

Everything here is built once per process and shared; request handlers and jobs only see
`unit_of_work(...)` and the session it yields. `schema_drift` runs in CI and at start-up to
catch models that no longer match the database they are deployed against.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, MetaData, create_engine, inspect
from sqlalchemy.orm import Session, sessionmaker


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

    - a QueuePool holding pool_size connections, allowing max_overflow extra ones, and
      raising sqlalchemy.exc.TimeoutError after pool_timeout seconds of waiting;
    - a connection the server has dropped is detected and replaced before it is handed out;
    - every connection shows application_name in pg_stat_activity and has PostgreSQL's
      statement_timeout set to statement_timeout_ms.
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
    """A factory of sessions bound to engine whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session inside a transaction.

    Commit when the block succeeds; roll back and re-raise when it fails; in both cases
    close the session so its connection goes back to the pool.
    """
    with factory.begin() as session:
        yield session


def schema_drift(engine: Engine, declared: MetaData) -> list[str]:
    """Compare every table in `declared` with the live database; return sorted findings.

    Findings, exactly in these forms (types as PostgreSQL spells them):
      "missing table invoices"
      "invoices: missing column note"
      "invoices: unexpected column legacy_flag"
      "invoices.note: nullable in model, NOT NULL in database"   (or the reverse wording)
      "invoices.total: NUMERIC(12, 2) in model, NUMERIC(10, 2) in database"
    Tables that exist in the database but not in `declared` are not reported.
    """
    inspector = inspect(engine)
    dialect = engine.dialect
    findings: list[str] = []
    for table in declared.sorted_tables:
        if not inspector.has_table(table.name):
            findings.append(f"missing table {table.name}")
            continue
        live = {col["name"]: col for col in inspector.get_columns(table.name)}
        for name in live.keys() - table.columns.keys():
            findings.append(f"{table.name}: unexpected column {name}")
        for column in table.columns:
            found = live.get(column.name)
            if found is None:
                findings.append(f"{table.name}: missing column {column.name}")
                continue
            where = f"{table.name}.{column.name}"
            if bool(column.nullable) != found["nullable"]:
                model = "nullable" if column.nullable else "NOT NULL"
                database = "nullable" if found["nullable"] else "NOT NULL"
                findings.append(f"{where}: {model} in model, {database} in database")
            model_type = column.type.compile(dialect=dialect)
            live_type = found["type"].compile(dialect=dialect)
            if model_type != live_type:
                findings.append(f"{where}: {model_type} in model, {live_type} in database")
    return sorted(findings)
