"""Two heads from two developers, `alembic merge`, a labelled branch and depends_on."""

import logging
import os
import shutil
import tempfile
import textwrap
from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, text

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
    context.configure(connection=connection, version_table="s5_9_alembic_version")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

CREATE_INVOICES = """
def upgrade() -> None:
    op.create_table(
        "s5_9_br_invoices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("total_cents", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_br_invoices")
"""

ADD_DUE_DATE = """
def upgrade() -> None:
    op.add_column("s5_9_br_invoices", sa.Column("due_date", sa.Date))


def downgrade() -> None:
    op.drop_column("s5_9_br_invoices", "due_date")
"""

CREATE_PAYMENTS = """
def upgrade() -> None:
    op.create_table(
        "s5_9_br_payments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("invoice_id", sa.Integer, sa.ForeignKey("s5_9_br_invoices.id"), nullable=False),
        sa.Column("amount_cents", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_br_payments")
"""

BALANCES_VIEW = """
def upgrade() -> None:
    op.execute(
        "CREATE VIEW s5_9_br_balances AS "
        "SELECT i.id, i.total_cents - coalesce(sum(p.amount_cents), 0) AS due_cents "
        "FROM s5_9_br_invoices i LEFT JOIN s5_9_br_payments p ON p.invoice_id = i.id "
        "GROUP BY i.id"
    )


def downgrade() -> None:
    op.execute("DROP VIEW s5_9_br_balances")
"""


class StepLog(logging.Handler):
    """Collects Alembic's "Running upgrade/downgrade ..." messages."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("Running"):
            self.steps.append(record.getMessage())


def add_revision(
    config: Config,
    message: str,
    body: str,
    *,
    head: str = "head",
    branch_label: str | None = None,
    depends_on: str | None = None,
) -> str:
    """`alembic revision -m MESSAGE`, then fill in upgrade() and downgrade() as an editor would."""
    script = command.revision(
        config, message=message, head=head, branch_label=branch_label, depends_on=depends_on
    )
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


def version_rows(engine: Engine, scripts: ScriptDirectory) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT version_num FROM s5_9_alembic_version")).scalars()
        return sorted(f"{rev} ({scripts.get_revision(rev).doc})" for rev in rows)


def drop_everything(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP VIEW IF EXISTS s5_9_br_balances"))
        connection.execute(
            text("DROP TABLE IF EXISTS s5_9_br_payments, s5_9_br_invoices, s5_9_alembic_version")
        )


def main() -> None:
    steps = StepLog()
    logging.getLogger("alembic.runtime.migration").addHandler(steps)
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    engine = create_engine(POSTGRES_URL)
    drop_everything(engine)
    tmp = Path(tempfile.mkdtemp(prefix="s5_9_branches_"))
    try:
        config = make_project(tmp / "migrations")
        versions = tmp / "migrations" / "versions"
        invoices = add_revision(config, "create invoices", CREATE_INVOICES)

        print("1. two developers start from the same head on two git branches")
        due_date = add_revision(config, "add invoices.due_date", ADD_DUE_DATE)
        (parked,) = versions.glob(f"{due_date}_*.py")
        parked = parked.rename(tmp / parked.name)  # developer A's branch, not checked out
        payments = add_revision(config, "create payments", CREATE_PAYMENTS)
        parked.rename(versions / parked.name)  # git merge brings both files together
        scripts = ScriptDirectory.from_config(config)
        for head in sorted(scripts.get_revisions("heads"), key=lambda s: str(s.doc)):
            print(f"   {head.cmd_format(False, include_doc=True, include_parents=True)}")
        try:
            command.upgrade(config, "head")
        except CommandError as error:
            print(f"   upgrade head -> CommandError: {error}")
        # A CI job that fails on more than one head catches this before deploy.
        print(f"   CI check: {len(scripts.get_heads())} heads, expected 1")

        print("2. alembic merge heads: a revision with two parents and no operations")
        merge = command.merge(config, "heads", message="merge due_date and payments")
        assert merge is not None
        print(f"   {merge.cmd_format(False, include_doc=True, include_parents=True)}")
        print(f"   down_revision = {merge.down_revision!r}")
        steps.steps.clear()
        command.upgrade(config, "head")
        print(f"   upgrade head ran {len(steps.steps)} revisions; version table:")
        for row in version_rows(engine, ScriptDirectory.from_config(config)):
            print(f"     {row}")

        print("3. a labelled branch from base that depends_on one revision of the main line")
        command.downgrade(config, "base")
        add_revision(
            config,
            "reporting: balances view",
            BALANCES_VIEW,
            head="base",
            branch_label="reporting",
            depends_on=payments,
        )
        scripts = ScriptDirectory.from_config(config)
        steps.steps.clear()
        command.upgrade(config, "reporting@head")
        for step in steps.steps:
            print(f"   {step}")
        print("   version table:", version_rows(engine, scripts))

        print("4. downgrading the dependency first removes what depends on it")
        command.upgrade(config, "heads")
        steps.steps.clear()
        command.downgrade(config, invoices)
        ran = [step.split(", ")[-1] for step in steps.steps]
        print(f"   ran {len(ran)} downgrades: {sorted(ran)}")
        view_first = ran.index("reporting: balances view") < ran.index("create payments")
        print(f"   view dropped before the payments table: {view_first}")
    finally:
        drop_everything(engine)
        engine.dispose()
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
