"""Renaming a column with no downtime: expand, run old and new code together, then contract."""

import logging
import os
import shutil
import sys
import tempfile
import textwrap
import threading
import time
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from psycopg import errors as pg_errors
from sqlalchemy import Connection, Engine, create_engine, exc, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TABLE = "s5_9_zd_invoices"
INDEX = "ix_s5_9_zd_invoices_billing_email"
log = logging.getLogger("deploy")


class V1Base(DeclarativeBase):
    pass


class InvoiceV1(V1Base):
    """The model as release 1 of the app maps it."""

    __tablename__ = TABLE
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str]
    customer_email: Mapped[str]


class V2Base(DeclarativeBase):
    pass


class InvoiceV2(V2Base):
    """Release 2: the column is called billing_email."""

    __tablename__ = TABLE
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str]
    billing_email: Mapped[str]


SCRIPT_TEMPLATE = '''"""${message}"""
from alembic import op
import sqlalchemy as sa

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''

ENV_PY = """
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    # Give up instead of queueing every query on the table behind our lock request.
    connection.exec_driver_sql("SET lock_timeout = '1s'")
    connection.commit()  # else Alembic sees an outer transaction and never commits
    context.configure(
        connection=connection,
        version_table="s5_9_alembic_version",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

BASELINE = """
def upgrade() -> None:
    op.create_table(
        "s5_9_zd_invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.Text, nullable=False),
        sa.Column("customer_email", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_zd_invoices")
"""

# Release 1 writes customer_email, release 2 writes billing_email: the trigger copies
# whichever one a statement set into the other, so both releases read correct data.
SYNC_TRIGGER = """
CREATE FUNCTION s5_9_zd_sync_email() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.billing_email := coalesce(NEW.billing_email, NEW.customer_email);
        NEW.customer_email := coalesce(NEW.customer_email, NEW.billing_email);
    ELSIF NEW.customer_email IS DISTINCT FROM OLD.customer_email THEN
        NEW.billing_email := NEW.customer_email;
    ELSIF NEW.billing_email IS DISTINCT FROM OLD.billing_email THEN
        NEW.customer_email := NEW.billing_email;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER s5_9_zd_sync_email BEFORE INSERT OR UPDATE ON s5_9_zd_invoices
    FOR EACH ROW EXECUTE FUNCTION s5_9_zd_sync_email();
"""

EXPAND_COLUMN = f'''
SYNC_TRIGGER = """{SYNC_TRIGGER}"""


def upgrade() -> None:
    op.add_column("s5_9_zd_invoices", sa.Column("billing_email", sa.Text))  # nullable: instant
    op.execute(SYNC_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER s5_9_zd_sync_email ON s5_9_zd_invoices")
    op.execute("DROP FUNCTION s5_9_zd_sync_email()")
    op.drop_column("s5_9_zd_invoices", "billing_email")
'''

# No transaction here, so each statement commits on its own: written to be rerun safely.
EXPAND_BACKFILL = """
import logging

log = logging.getLogger("migrations")
INDEX = "ix_s5_9_zd_invoices_billing_email"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(
            "UPDATE s5_9_zd_invoices SET billing_email = customer_email "
            "WHERE billing_email IS NULL"
        )
        valid = op.get_bind().execute(
            sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
            {"name": INDEX},
        ).scalar()
        if valid is False:  # a cancelled CONCURRENTLY build left it; IF NOT EXISTS would keep it
            log.warning("dropping INVALID index %s left by an interrupted build", INDEX)
            op.drop_index(INDEX, table_name="s5_9_zd_invoices", postgresql_concurrently=True)
        if not valid:  # None: absent, False: just dropped, True: an earlier attempt built it
            op.create_index(
                INDEX, "s5_9_zd_invoices", ["billing_email"], postgresql_concurrently=True
            )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index(INDEX, table_name="s5_9_zd_invoices", postgresql_concurrently=True)
"""

CONTRACT = f'''
SYNC_TRIGGER = """{SYNC_TRIGGER}"""


def upgrade() -> None:
    op.execute("DROP TRIGGER s5_9_zd_sync_email ON s5_9_zd_invoices")
    op.execute("DROP FUNCTION s5_9_zd_sync_email()")
    op.alter_column("s5_9_zd_invoices", "billing_email", nullable=False)
    op.drop_column("s5_9_zd_invoices", "customer_email")


def downgrade() -> None:  # back to the expanded state, data included
    op.add_column("s5_9_zd_invoices", sa.Column("customer_email", sa.Text))
    op.execute("UPDATE s5_9_zd_invoices SET customer_email = billing_email")
    op.alter_column("s5_9_zd_invoices", "customer_email", nullable=False)
    op.alter_column("s5_9_zd_invoices", "billing_email", nullable=True)
    op.execute(SYNC_TRIGGER)
'''


def add_revision(config: Config, message: str, body: str) -> str:
    """`alembic revision -m MESSAGE`, then fill in upgrade() and downgrade() as an editor would."""
    script = command.revision(config, message=message)
    assert script is not None and not isinstance(script, list)
    path = Path(script.path)
    header = path.read_text(encoding="utf-8").split("\n\ndef upgrade", 1)[0]
    path.write_text(header + "\n" + textwrap.dedent(body), encoding="utf-8")
    return script.revision


def make_project(root: Path) -> Config:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "script.py.mako").write_text(SCRIPT_TEMPLATE, encoding="utf-8")
    config = Config(cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", POSTGRES_URL.replace("%", "%%"))
    return config


def upgrade_with_retries(
    config: Config,
    target: str,
    attempts: int = 3,
    back_off: Callable[[float], None] = time.sleep,
) -> None:
    """The deploy job's migration step: lock timeouts are logged and retried, all else raises."""
    for attempt in range(1, attempts + 1):
        try:
            command.upgrade(config, target)
        except exc.OperationalError as error:
            if not isinstance(error.orig, pg_errors.LockNotAvailable) or attempt == attempts:
                raise
            log.warning(
                "attempt %d of %d: %s; retrying in %d s", attempt, attempts, error.orig, attempt
            )
            back_off(attempt)
        else:
            log.info("attempt %d of %d: upgraded to %s", attempt, attempts, target)
            return


def waiting_on_locks(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return list(
            connection.execute(
                text(
                    "SELECT left(query, 60) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE '%s5_9_zd_invoices%' "
                    "AND datname = current_database() ORDER BY query"
                )
            ).scalars()
        )


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the expected lock wait never showed up")
        time.sleep(0.02)


def deploy_expand_under_a_long_report(engine: Engine, config: Config, expand: str) -> None:
    outcome: dict[str, str] = {}

    def migrate() -> None:
        try:
            command.upgrade(config, expand)
            outcome["migration"] = "applied"
        except exc.OperationalError as error:
            outcome["migration"] = str(error.orig)

    def app_request() -> None:
        started = time.perf_counter()
        with Session(engine) as session:
            session.scalars(select(InvoiceV1).where(InvoiceV1.number == "INV-00042")).one()
        outcome["app"] = f"read returned after {time.perf_counter() - started:.1f} s"

    migration = threading.Thread(target=migrate, daemon=True)
    request = threading.Thread(target=app_request, daemon=True)  # an ordinary page view
    report = engine.connect()  # an analyst's transaction: SELECT, then nothing for minutes
    try:
        report.execute(text(f"SELECT count(*) FROM {TABLE}"))  # holds ACCESS SHARE until it ends
        migration.start()
        wait_until(lambda: len(waiting_on_locks(engine)) == 1)
        request.start()
        wait_until(lambda: len(waiting_on_locks(engine)) == 2)
        for query in waiting_on_locks(engine):
            print(f"   waiting for a lock: {query}")
        migration.join(timeout=10)
        request.join(timeout=10)
    finally:  # whatever failed above, end the report so that nothing stays queued behind it
        report.rollback()
        report.close()
    if migration.is_alive() or request.is_alive():
        raise RuntimeError("a lock wait outlived lock_timeout")
    print(f"   migration: {outcome['migration']}")
    print(f"   app: {outcome['app']}")


def open_export(engine: Engine) -> Connection:
    """A nightly export elsewhere in the database: REPEATABLE READ pins one snapshot throughout."""
    export = engine.connect().execution_options(isolation_level="REPEATABLE READ")
    export.execute(text("SELECT 1"))  # takes the snapshot; it never touches the invoices table
    return export


def index_valid(engine: Engine) -> bool | None:
    with engine.connect() as connection:
        return connection.execute(
            text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"),
            {"name": INDEX},
        ).scalar()


def show(engine: Engine, release: int, numbers: list[str]) -> str:
    """The e-mail of each invoice, read through release 1's or release 2's model."""
    number, email = (
        (InvoiceV1.number, InvoiceV1.customer_email)
        if release == 1
        else (InvoiceV2.number, InvoiceV2.billing_email)
    )
    with Session(engine) as session:
        rows = session.execute(select(number, email).where(number.in_(numbers)))
        emails = dict(rows.all())
    return ", ".join(f"{n}={emails[n]}" for n in numbers)


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="   %(levelname)s [%(name)s] %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # Every wait of ours is bounded, so a failure cannot leave a session queued or holding locks.
    engine = create_engine(
        POSTGRES_URL,
        connect_args={"options": "-c lock_timeout=5s -c idle_in_transaction_session_timeout=30s"},
    )
    root = Path(tempfile.mkdtemp(prefix="s5_9_zero_downtime_"))
    cleanup = [
        f"DROP TABLE IF EXISTS {TABLE}, s5_9_alembic_version",
        "DROP FUNCTION IF EXISTS s5_9_zd_sync_email()",
    ]
    with engine.begin() as connection:
        for statement in cleanup:
            connection.execute(text(statement))
    try:
        config = make_project(root / "migrations")
        baseline = add_revision(config, "invoices baseline", BASELINE)
        expand = add_revision(config, "expand: billing_email and sync trigger", EXPAND_COLUMN)
        backfill = add_revision(config, "expand: backfill, index billing_email", EXPAND_BACKFILL)
        add_revision(config, "contract: drop customer_email", CONTRACT)
        command.upgrade(config, baseline)
        with engine.begin() as connection:
            connection.execute(
                text(
                    f"INSERT INTO {TABLE} (number, customer_email) SELECT "
                    "'INV-' || lpad(n::text, 5, '0'), 'billing' || n || '@example.com' "
                    "FROM generate_series(1, 10000) n"
                )
            )

        print("1. expand while a report transaction holds the table (lock_timeout = 1s)")
        deploy_expand_under_a_long_report(engine, config, expand)

        print("2. the next deploy run retries; an export elsewhere still holds an old snapshot")
        export = open_export(engine)

        def export_finishes_while_job_waits(seconds: float) -> None:
            print(f"   between attempts: index {INDEX} valid = {index_valid(engine)}")
            if export.in_transaction():
                print("   meanwhile the export finishes and releases its snapshot")
                export.rollback()
            time.sleep(seconds)

        try:
            upgrade_with_retries(config, backfill, back_off=export_finishes_while_job_waits)
        finally:
            export.close()
        print(f"   index built CONCURRENTLY is valid: {index_valid(engine)}")
        try:
            with engine.begin() as connection:
                connection.execute(text(f"CREATE INDEX CONCURRENTLY ix_probe ON {TABLE} (number)"))
        except exc.InternalError as error:
            print(f"   the same DDL inside a transaction: {error.orig}")

        print("3. expand phase: release 1 and release 2 serve traffic side by side")
        with Session(engine) as session:
            session.add(InvoiceV1(number="INV-10001", customer_email="old@example.com"))
            session.commit()
        with Session(engine) as session:
            session.add(InvoiceV2(number="INV-10002", billing_email="new@example.com"))
            session.commit()
        with Session(engine) as session:  # release 1 edits a row that release 2 created
            invoice = session.scalars(select(InvoiceV1).filter_by(number="INV-10002")).one()
            invoice.customer_email = "edited-by-v1@example.com"
            session.commit()
        numbers = ["INV-00042", "INV-10001", "INV-10002"]
        print(f"   release 1 reads: {show(engine, 1, numbers)}")
        print(f"   release 2 reads: {show(engine, 2, numbers)}")

        print("4. contract, after every release-1 process has stopped")
        command.upgrade(config, "head")
        print(f"   release 2 reads: {show(engine, 2, numbers)}")
        try:
            show(engine, 1, numbers)
        except exc.ProgrammingError as error:
            print(f"   release 1 now fails: {str(error.orig).splitlines()[0]}")

        print("5. rolling back the contract step restores the column and its data")
        command.downgrade(config, backfill)
        print(f"   release 1 reads: {show(engine, 1, numbers)}")
    finally:
        with engine.begin() as connection:
            for statement in cleanup:
                connection.execute(text(statement))
        engine.dispose()
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
