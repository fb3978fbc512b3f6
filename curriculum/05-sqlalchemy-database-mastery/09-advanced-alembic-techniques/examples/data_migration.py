"""A data migration with a custom batched-backfill operation, a failure, a fix and a rollback."""

import logging
import os
import shutil
import sys
import tempfile
import textwrap
from argparse import Namespace
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.operations import MigrateOperation, Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, text

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("migrations.backfill")


@Operations.register_operation("backfill")
@dataclass
class BackfillOp(MigrateOperation):
    """UPDATE a table in primary-key ranges, each range committed on its own."""

    table_name: str
    assignments: str  # SQL for the SET clause, written by the migration's author
    where: str  # matches only rows still to change, so a re-run skips finished work
    batch_size: int = 1000

    @classmethod
    def backfill(
        cls,
        operations: Operations,
        table_name: str,
        assignments: str,
        where: str,
        batch_size: int = 1000,
    ) -> None:
        operations.invoke(cls(table_name, assignments, where, batch_size))


@Operations.implementation_for(BackfillOp)
def run_backfill(operations: Operations, operation: BackfillOp) -> None:
    context = operations.get_context()
    if context.as_sql:
        raise NotImplementedError("backfill needs a live connection; it cannot run in --sql mode")
    table = operation.table_name
    # Commit each batch: row locks are held for one batch, not for the whole migration.
    with context.autocommit_block():
        connection = operations.get_bind()
        low, high = connection.execute(text(f"SELECT min(id), max(id) FROM {table}")).one()
        start = low or 1
        while high is not None and start <= high:
            stop = start + operation.batch_size
            result = connection.execute(
                text(
                    f"UPDATE {table} SET {operation.assignments} "
                    f"WHERE id >= :start AND id < :stop AND ({operation.where})"
                ),
                {"start": start, "stop": stop},
            )
            log.info("%s ids %d-%d: %d rows", table, start, stop - 1, result.rowcount)
            start = stop


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
url = config.get_main_option("sqlalchemy.url")
options = {"version_table": "s5_9_alembic_version", "transaction_per_migration": True}
if context.is_offline_mode():
    context.configure(url=url, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, **options)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
"""

CREATE_CUSTOMERS = """
def upgrade() -> None:
    op.create_table(
        "s5_9_customers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(120), nullable=False),
        sa.Column("plan", sa.String(20), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_customers")
"""

PLANS_LOOKUP = """
def upgrade() -> None:
    plans = op.create_table(
        "s5_9_plans",
        sa.Column("id", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("code", sa.String(20), nullable=False, unique=True),
        sa.Column("monthly_cents", sa.Integer, nullable=False),
    )
    # Reference data belongs to the schema version: insert it in the migration.
    op.bulk_insert(
        plans,
        [
            {"id": 1, "code": "free", "monthly_cents": 0},
            {"id": 2, "code": "pro", "monthly_cents": 2900},
            {"id": 3, "code": "team", "monthly_cents": 9900},
        ],
    )
    op.add_column(
        "s5_9_customers",
        sa.Column("plan_id", sa.SmallInteger, sa.ForeignKey("s5_9_plans.id"), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("s5_9_customers", "plan_id")
    op.drop_table("s5_9_plans")
"""

BACKFILL_PLAN_ID = """
def upgrade() -> None:
    op.backfill(
        "s5_9_customers",
        assignments="plan_id = (SELECT p.id FROM s5_9_plans p WHERE p.code = s5_9_customers.plan)",
        where="plan_id IS NULL",
        batch_size=1000,
    )
    unmatched = op.get_bind().execute(
        sa.text("SELECT plan, count(*) FROM s5_9_customers WHERE plan_id IS NULL GROUP BY plan")
    ).all()
    if unmatched:  # fail loudly: a NULL here would break the NOT NULL of a later revision
        raise RuntimeError(f"customers left without plan_id: {dict(unmatched)}")


def downgrade() -> None:
    pass  # nothing to undo: the previous revision's downgrade drops plan_id
"""


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


def current(config: Config, engine: Engine) -> str:
    """What the version table says, with each revision's message."""
    scripts = ScriptDirectory.from_config(config)
    with engine.connect() as connection:
        heads = MigrationContext.configure(
            connection, opts={"version_table": "s5_9_alembic_version"}
        ).get_current_heads()
    return ", ".join(f"{rev} ({scripts.get_revision(rev).doc})" for rev in heads) or "base"


def main() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stdout, format="%(levelname)s [%(name)s] %(message)s"
    )
    # Keep Alembic's "Running upgrade a -> b" lines, drop its other start-up chatter.
    alembic_log = logging.getLogger("alembic.runtime.migration")
    alembic_log.addFilter(lambda record: record.getMessage().startswith("Running"))
    engine = create_engine(POSTGRES_URL)
    root = Path(tempfile.mkdtemp(prefix="s5_9_data_"))
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS s5_9_customers, s5_9_plans"))
        connection.execute(text("DROP TABLE IF EXISTS s5_9_alembic_version"))
    try:
        config = make_project(root / "migrations")
        first = add_revision(config, "create customers", CREATE_CUSTOMERS)
        add_revision(config, "plans lookup table", PLANS_LOOKUP)
        add_revision(config, "backfill customers.plan_id", BACKFILL_PLAN_ID)

        print("1. production today: 2,500 customers at the first revision")
        command.upgrade(config, first)
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO s5_9_customers (id, email, plan) "
                    "SELECT n, 'customer' || n || '@example.com', "
                    "(ARRAY['free', 'pro', 'team'])[n % 3 + 1] FROM generate_series(1, 2500) n"
                )
            )
            connection.execute(
                text("UPDATE s5_9_customers SET plan = 'gold-legacy' WHERE id IN (1700, 2400)")
            )

        print("2. upgrade head: the data migration finds rows it cannot map")
        try:
            command.upgrade(config, "head")
        except RuntimeError as error:
            print(f"   upgrade failed: {error}")
        print(f"   current revision: {current(config, engine)}")
        with engine.connect() as connection:
            filled = connection.execute(
                text("SELECT count(plan_id) FROM s5_9_customers")
            ).scalar_one()
        print(f"   customers with plan_id despite the failure: {filled}")

        print("3. fix the data, run the same upgrade again (the backfill is re-runnable)")
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE s5_9_customers SET plan = 'team' WHERE plan = 'gold-legacy'")
            )
        command.upgrade(config, "head")
        print(f"   current revision: {current(config, engine)}")

        print("4. review the rollback SQL offline, then run it")
        config.output_buffer = sql = StringIO()
        command.downgrade(config, f"head:{first}", sql=True)
        for line in sql.getvalue().splitlines():
            if line.strip() and not line.startswith("--"):
                print(f"   {line}")
        command.downgrade(config, first)
        with engine.connect() as connection:
            plans = connection.execute(
                text("SELECT plan, count(*) FROM s5_9_customers GROUP BY plan ORDER BY plan")
            ).all()
        print(f"   current revision: {current(config, engine)}; plan column intact: {plans}")
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS s5_9_customers, s5_9_plans"))
            connection.execute(text("DROP TABLE IF EXISTS s5_9_alembic_version"))
        engine.dispose()
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
