"""Autogenerate a migration from models, then review it: what it finds, what it gets wrong.

The project gets the same env.py edits as first_migration.py plus three for autogenerate. Every
`$ alembic ...` line runs alembic.config.main(argv), the CLI's own entry point, in this process.
"""

import contextlib
import difflib
import io
import os
import shlex
import sys
import tempfile
from pathlib import Path

from alembic.config import main as alembic_cli
from sqlalchemy import Engine, create_engine, inspect, text

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
CUSTOMERS, INVOICES = "s5_8_ag_customers", "s5_8_ag_invoices"
VERSION_TABLE = "s5_8_alembic_version"

ENV_EDITS = [  # (generated text, our text), applied to migrations/env.py
    (
        "from logging.config import fileConfig\n",
        "import os\nfrom logging.config import fileConfig\n",
    ),
    (
        "from alembic import context\n",
        f"""from alembic import context

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
VERSION_TABLE = "{VERSION_TABLE}"
""",
    ),
    (
        "config = context.config\n",
        """config = context.config
url = os.environ.get("PYMASTERY_POSTGRES_URL", DEFAULT_URL)
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
""",
    ),
    (
        "target_metadata = None\n",
        """from billing.models import Base

target_metadata = Base.metadata


def include_name(name, type_, parent_names):
    # Compare only our tables: the database also holds tables this project does not own.
    return type_ != "table" or name.startswith("s5_8_ag_")
""",
    ),
    (
        '        dialect_opts={"paramstyle": "named"},\n',
        '        dialect_opts={"paramstyle": "named"},\n        version_table=VERSION_TABLE,\n'
        "        include_name=include_name,\n",
    ),
    (
        "            connection=connection, target_metadata=target_metadata\n",
        """            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            include_name=include_name,
""",
    ),
]
INI_EDITS = [  # applied to alembic.ini
    # Import billing.models from the project folder, not from wherever alembic was started.
    ("prepend_sys_path = .\n", "prepend_sys_path = %(here)s\n"),
    # Alembic 1.20 logs one INFO line per autogenerate plugin it sets up; keep the rest.
    ("keys = root,sqlalchemy,alembic\n", "keys = root,sqlalchemy,alembic,alembic_plugins\n"),
    (
        "[handlers]\n",
        "[logger_alembic_plugins]\nlevel = WARNING\nhandlers =\nqualname = alembic.runtime.plugins"
        "\n\n[handlers]\n",
    ),
]

MODELS = """\
from datetime import datetime
from decimal import Decimal

from sqlalchemy import DateTime, ForeignKey, Identity, Numeric, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_8_ag_customers"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)


class Invoice(Base):
    __tablename__ = "s5_8_ag_invoices"

    id: Mapped[int] = mapped_column(Identity(), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id), index=True)
    number: Mapped[str] = mapped_column(String(30))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
"""
MODEL_CHANGES = [  # the feature: a country per customer, a status per invoice, a renamed column
    ("import DateTime,", "import CheckConstraint, DateTime,"),
    (
        "unique=True)\n",
        'unique=True)\n    country: Mapped[str] = mapped_column(String(2), server_default="US")\n',
    ),
    (
        '"s5_8_ag_invoices"\n',
        '"s5_8_ag_invoices"\n'
        '    __table_args__ = (CheckConstraint("amount >= 0", name="ck_amount"),)\n',
    ),
    ("    number: Mapped[str]", "    invoice_number: Mapped[str]"),
    ("Numeric(12, 2)", "Numeric(14, 2)"),
    (
        "    issued_at",
        '    status: Mapped[str] = mapped_column(String(20), index=True, server_default="draft")\n'
        "    issued_at",
    ),
]
REVIEW_EDITS = [  # what a reviewer changes in the second generated revision
    (
        "    op.add_column('s5_8_ag_invoices', sa.Column('invoice_number', sa.String(length=30), "
        "nullable=False))\n",
        "    op.alter_column('s5_8_ag_invoices', 'number', new_column_name='invoice_number')\n"
        "    op.create_check_constraint('ck_amount', 's5_8_ag_invoices', 'amount >= 0')\n",
    ),
    ("    op.drop_column('s5_8_ag_invoices', 'number')\n", ""),
    (
        "    op.add_column('s5_8_ag_invoices', sa.Column('number', sa.VARCHAR(length=30), "
        "autoincrement=False, nullable=False))\n",
        "    op.drop_constraint('ck_amount', 's5_8_ag_invoices', type_='check')\n"
        "    op.alter_column('s5_8_ag_invoices', 'invoice_number', new_column_name='number')\n",
    ),
    ("    op.drop_column('s5_8_ag_invoices', 'invoice_number')\n", ""),
]


def alembic(project: Path, *argv: str) -> None:
    """Run one `alembic ...` command line in this process, from the project folder."""
    print(f"$ alembic {shlex.join(argv)}")  # quoted as you would type it
    # The real CLI starts a fresh interpreter per command. Here env.py runs in this one, where
    # `from billing.models import Base` would return the module cached by the previous command
    # and autogenerate would diff the old models. Forgetting billing.* makes the next import
    # read the edited file, as a new process would.
    for module in [name for name in sys.modules if name.split(".")[0] == "billing"]:
        del sys.modules[module]
    with contextlib.chdir(project):
        try:
            alembic_cli(argv=list(argv), prog="alembic")
        except SystemExit as stop:  # the CLI reports a CommandError as "FAILED: ..." and exits
            print(f"(exit status {stop.code})")
        except Exception as error:  # the CLI would print a traceback; its last line is enough
            first_line = str(error).splitlines()[0]
            print(f"{type(error).__module__}.{type(error).__qualname__}: {first_line}")


def edit(path: Path, edits: list[tuple[str, str]]) -> tuple[str, str]:
    """Apply (old, new) replacements that must each match exactly once; return before, after."""
    before = path.read_text()
    after = before
    for old, new in edits:
        assert after.count(old) == 1, f"{path.name} does not contain exactly one {old!r}"
        after = after.replace(old, new)
    path.write_text(after)
    return before, after


def show_diff(before: str, after: str, name: str) -> None:
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), name, name, lineterm="")
    print(*(f"   {line}".rstrip() for line in list(lines)[2:]), sep="\n")


def generate(project: Path, message: str) -> Path:
    """`alembic revision --autogenerate -m message`; returns the file it wrote."""
    versions = project / "migrations" / "versions"
    before = set(versions.glob("*.py"))
    alembic(project, "revision", "--autogenerate", "-m", message)
    (written,) = set(versions.glob("*.py")) - before
    return written


def show_operations(revision_file: Path) -> None:
    """Print the file from `def upgrade` on; the header looks like the one in first_migration."""
    source = revision_file.read_text()
    print(f"   --- {revision_file.name}, from def upgrade() on")
    body = source[source.index("def upgrade") :].splitlines()
    print(*(f"   {line}".rstrip() for line in body), sep="\n")


def review_cycle(project: Path, engine: Engine) -> None:
    print("1. models v1 -> an autogenerated first revision")
    show_operations(generate(project, "create customers and invoices"))
    alembic(project, "upgrade", "head")
    with engine.begin() as connection:
        connection.execute(
            text(
                f"INSERT INTO {CUSTOMERS} (name, email) VALUES ('Acme', 'ap@acme.test'); "
                f"INSERT INTO {INVOICES} (customer_id, number, amount) "
                "VALUES (1, 'INV-1001', 120.00), (1, 'INV-1002', 80.50)"
            )
        )

    print("\n2. the developer changes the models")
    show_diff(*edit(project / "billing" / "models.py", MODEL_CHANGES), "billing/models.py")
    second = generate(project, "customer country, invoice status")
    show_operations(second)

    print("\n3. applied unreviewed to a table with rows")
    alembic(project, "upgrade", "head")
    alembic(project, "current")
    with engine.connect() as connection:
        columns = [c["name"] for c in inspect(connection).get_columns(CUSTOMERS)]
    print(f"   {CUSTOMERS} columns after the failure: {columns}")

    print("\n4. reviewed: a rename instead of drop + add, and the CHECK autogenerate missed")
    show_diff(*edit(second, REVIEW_EDITS), second.name)
    alembic(project, "upgrade", "head")
    with engine.connect() as connection:
        numbers = connection.scalars(text(f"SELECT invoice_number FROM {INVOICES} ORDER BY id"))
        print(f"   invoice numbers kept: {numbers.all()}")
    alembic(project, "check")
    alembic(project, "downgrade", "base")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    drop = text(f"DROP TABLE IF EXISTS {INVOICES}, {CUSTOMERS}, {VERSION_TABLE}")
    with engine.begin() as connection:
        connection.execute(drop)
    try:
        with tempfile.TemporaryDirectory(prefix="s5_8_project_") as folder:
            project = Path(folder)
            with contextlib.redirect_stdout(io.StringIO()):  # shown in first_migration.py
                alembic(project, "init", "migrations")
            edit(project / "migrations" / "env.py", ENV_EDITS)
            edit(project / "alembic.ini", INI_EDITS)
            (project / "billing").mkdir()
            (project / "billing" / "__init__.py").write_text("")
            (project / "billing" / "models.py").write_text(MODELS)
            review_cycle(project, engine)
    finally:
        with engine.begin() as connection:
            connection.execute(drop)
        engine.dispose()


if __name__ == "__main__":
    main()
