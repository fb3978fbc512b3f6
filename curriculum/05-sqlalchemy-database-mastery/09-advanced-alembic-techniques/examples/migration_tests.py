"""Testing migrations: a round trip, the stairway test, and a data migration tested with rows."""

import os
import shutil
import tempfile
import textwrap
from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, exc, text

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


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
    context.configure(
        connection=connection,
        version_table="s5_9_alembic_version",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

CREATE_ORDERS = """
def upgrade() -> None:
    op.create_table(
        "s5_9_mt_orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(20), nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_mt_orders")
"""

INDEX_REFERENCE = """
def upgrade() -> None:
    op.create_index("ix_s5_9_mt_orders_reference", "s5_9_mt_orders", ["reference"])


def downgrade() -> None:
    pass  # BUG: forgot op.drop_index(...)
"""

INDEX_REFERENCE_FIXED = INDEX_REFERENCE.replace(
    "pass  # BUG: forgot op.drop_index(...)",
    'op.drop_index("ix_s5_9_mt_orders_reference", table_name="s5_9_mt_orders")',
)

# A data migration: orders referenced UK-... were taken in pounds, every other one in euros.
ADD_CURRENCY = """
def upgrade() -> None:
    op.add_column("s5_9_mt_orders", sa.Column("currency", sa.String(3)))
    op.execute(
        "UPDATE s5_9_mt_orders SET currency = "
        "CASE WHEN reference LIKE 'UK-%' THEN 'GBP' ELSE 'EUR' END"
    )
    op.alter_column("s5_9_mt_orders", "currency", existing_type=sa.String(3), nullable=False)


def downgrade() -> None:
    op.drop_column("s5_9_mt_orders", "currency")
"""
SEEDED = {"UK-1001": "GBP", "DE-2002": "EUR", "uk-1003": "GBP"}  # the last one: an old import


def add_revision(config: Config, message: str, body: str) -> tuple[str, Path]:
    """`alembic revision -m MESSAGE`, then fill in upgrade() and downgrade() as an editor would."""
    script = command.revision(config, message=message)
    assert script is not None and not isinstance(script, list)
    write_body(Path(script.path), body)
    return script.revision, Path(script.path)


def write_body(path: Path, body: str) -> None:
    header = path.read_text(encoding="utf-8").split("\n\ndef upgrade", 1)[0]
    path.write_text(header + "\n" + textwrap.dedent(body), encoding="utf-8")


def make_project(root: Path) -> Config:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "script.py.mako").write_text(SCRIPT_TEMPLATE, encoding="utf-8")
    config = Config(cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", POSTGRES_URL.replace("%", "%%"))
    return config


def round_trip(config: Config) -> None:
    """upgrade head, downgrade base, upgrade head: what most teams run in CI."""
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    command.downgrade(config, "base")


def stairway(config: Config) -> None:
    """For every revision in order: upgrade to it, downgrade one step, upgrade again."""
    scripts = ScriptDirectory.from_config(config)
    for script in reversed(list(scripts.walk_revisions())):
        for step, target in (
            ("up", script.revision),
            ("down", "-1"),
            ("up again", script.revision),
        ):
            try:
                (command.upgrade if step != "down" else command.downgrade)(config, target)
            except exc.SQLAlchemyError as error:
                print(f"   {script.doc}: {step} FAILED: {str(error).splitlines()[0]}")
                raise
        print(f"   {script.doc}: up, down, up again ok")
    command.downgrade(config, "base")


def data_migration_test(config: Config, engine: Engine, before: str, revision: str) -> None:
    """Stop one revision short, insert the rows production has, upgrade, compare."""
    command.downgrade(config, "base")
    command.upgrade(config, before)
    with engine.begin() as connection:
        for number, reference in enumerate(SEEDED, start=1):
            connection.execute(
                text("INSERT INTO s5_9_mt_orders VALUES (:id, :reference, 100)"),
                {"id": number, "reference": reference},
            )
    command.upgrade(config, revision)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT reference, currency FROM s5_9_mt_orders ORDER BY id")
        )
        got: dict[str, str] = dict(rows.all())
    wrong = {
        ref: f"{got[ref]}, expected {want}" for ref, want in SEEDED.items() if got[ref] != want
    }
    print(f"   {'FAILED ' + str(wrong) if wrong else 'passed: ' + str(got)}")


def drop_everything(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS s5_9_mt_orders, s5_9_alembic_version"))


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    drop_everything(engine)
    root = Path(tempfile.mkdtemp(prefix="s5_9_tests_"))
    try:
        config = make_project(root / "migrations")
        add_revision(config, "create orders", CREATE_ORDERS)
        indexed, index_path = add_revision(config, "index orders.reference", INDEX_REFERENCE)

        print("1. round trip over the chain with the broken downgrade")
        round_trip(config)
        print("   passed: dropping the table in the first downgrade hid the leftover index")

        print("2. stairway over the same chain")
        try:
            stairway(config)
        except exc.SQLAlchemyError:
            drop_everything(engine)

        print("3. fix the downgrade, run the stairway again")
        write_body(index_path, INDEX_REFERENCE_FIXED)
        stairway(config)

        print("4. a data migration, tested with the kinds of rows production holds")
        currency, currency_path = add_revision(config, "add orders.currency", ADD_CURRENCY)
        data_migration_test(config, engine, indexed, currency)
        write_body(currency_path, ADD_CURRENCY.replace("reference LIKE", "upper(reference) LIKE"))
        data_migration_test(config, engine, indexed, currency)
    finally:
        drop_everything(engine)
        engine.dispose()
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
