"""The database layer of a small service: engine, session factory, unit of work, drift check.

Everything here is built once per process and shared; request handlers and jobs only see
`unit_of_work(...)` and the session it yields. `schema_drift` runs in CI and at start-up to
catch models that no longer match the database they are deployed against.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, MetaData
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
    # TODO: create_engine(...) with the pool settings and pre-ping.
    # TODO: pass application_name and the statement timeout to psycopg via connect_args.
    raise NotImplementedError


def build_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A factory of sessions bound to engine whose objects stay readable after commit."""
    # TODO: which sessionmaker option keeps attributes loaded after commit?
    raise NotImplementedError


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """Yield a session inside a transaction.

    Commit when the block succeeds; roll back and re-raise when it fails; in both cases
    close the session so its connection goes back to the pool.
    """
    # TODO: yield a session; make every exit path commit-or-rollback, then close.
    raise NotImplementedError


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
    # TODO: reflect only the declared tables; a missing one is a finding, not an exception.
    # TODO: compare column names, then nullability, then types compiled for engine.dialect.
    raise NotImplementedError
