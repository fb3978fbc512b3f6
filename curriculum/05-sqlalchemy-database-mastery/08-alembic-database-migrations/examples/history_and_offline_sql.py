"""Three revisions: history, relative moves, offline SQL, and adopting an unversioned database.

Same project set-up as first_migration.py. Every `$ alembic ...` line runs
alembic.config.main(argv), the CLI's own entry point, in this process.
"""

import contextlib
import io
import os
import shlex
import tempfile
from pathlib import Path

from alembic.config import main as alembic_cli
from sqlalchemy import Engine, create_engine, text

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
CUSTOMERS, INVOICES = "s5_8_h_customers", "s5_8_h_invoices"
VERSION_TABLE = "s5_8_alembic_version"

ENV_EDITS = [  # (generated text, our text), applied to migrations/env.py; see first_migration.py
    (
        "from logging.config import fileConfig\n",
        "import os\nfrom logging.config import fileConfig\n",
    ),
    (
        "config = context.config\n",
        'config = context.config\nurl = os.environ.get("PYMASTERY_POSTGRES_URL", '
        '"postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples")\n'
        'config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))\n',
    ),
    (
        '        dialect_opts={"paramstyle": "named"},\n',
        '        dialect_opts={"paramstyle": "named"},\n'
        f'        version_table="{VERSION_TABLE}",\n',
    ),
    (
        "connection=connection, target_metadata=target_metadata\n",
        "connection=connection, target_metadata=target_metadata, "
        f'version_table="{VERSION_TABLE}"\n',
    ),
]

# (message, upgrade body, downgrade body) of each hand-written revision, oldest first.
REVISIONS = [
    (
        "create customers",
        """\
    op.create_table(
        "s5_8_h_customers",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
""",
        '    op.drop_table("s5_8_h_customers")\n',
    ),
    (
        "create invoices",
        """\
    op.create_table(
        "s5_8_h_invoices",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column(
            "customer_id", sa.Integer(), sa.ForeignKey("s5_8_h_customers.id"), nullable=False
        ),
        sa.Column("amount", sa.Numeric(12, 2), nullable=False),
    )
    op.create_index("ix_s5_8_h_invoices_customer_id", "s5_8_h_invoices", ["customer_id"])
""",
        '    op.drop_index("ix_s5_8_h_invoices_customer_id", table_name="s5_8_h_invoices")\n'
        '    op.drop_table("s5_8_h_invoices")\n',
    ),
    (
        "add customer email",
        '    op.add_column("s5_8_h_customers", sa.Column("email", sa.String(320)))\n',
        '    op.drop_column("s5_8_h_customers", "email")\n',
    ),
]


def alembic(project: Path, *argv: str) -> None:
    """Run one `alembic ...` command line in this process, from the project folder."""
    print(f"$ alembic {shlex.join(argv)}")  # quoted as you would type it
    with contextlib.chdir(project):
        try:
            alembic_cli(argv=list(argv), prog="alembic")
        except SystemExit as stop:  # the CLI reports a CommandError as "FAILED: ..." and exits
            print(f"(exit status {stop.code})")
        except Exception as error:  # the CLI would print a traceback; its last line is enough
            first_line = str(error).splitlines()[0]
            print(f"{type(error).__module__}.{type(error).__qualname__}: {first_line}")


def set_up(project: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):  # init's output is in first_migration.py
        alembic(project, "init", "migrations")
    env_py = project / "migrations" / "env.py"
    source = env_py.read_text()
    for old, new in ENV_EDITS:
        assert source.count(old) == 1, f"env.py template changed: {old!r}"
        source = source.replace(old, new)
    env_py.write_text(source)


def write_revisions(project: Path) -> list[str]:
    """Generate each revision with `alembic revision`, then type in its operations."""
    versions = project / "migrations" / "versions"
    ids = []
    for message, upgrade, downgrade in REVISIONS:
        before = set(versions.glob("*.py"))
        alembic(project, "revision", "-m", message)
        (path,) = set(versions.glob("*.py")) - before
        source = path.read_text()
        source = source.replace(
            '"""Upgrade schema."""\n    pass\n', f'"""Upgrade schema."""\n{upgrade}'
        )
        source = source.replace(
            '"""Downgrade schema."""\n    pass\n', f'"""Downgrade schema."""\n{downgrade}'
        )
        path.write_text(source)
        ids.append(path.name.split("_")[0])
    return ids


def tour(project: Path, engine: Engine) -> None:
    print("1. three revisions, each naming its parent in down_revision")
    ids = write_revisions(project)
    alembic(project, "history")

    print("\n2. move one step, then to the head, then one step back")
    alembic(project, "upgrade", "+1")
    alembic(project, "current")
    alembic(project, "upgrade", "head")
    alembic(project, "downgrade", "-1")
    alembic(project, "history", "--indicate-current")
    alembic(project, "upgrade", ids[2][:4])  # any unique prefix of a revision id will do
    with engine.connect() as connection:
        stored = connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    print(f"   the database's whole migration state: {VERSION_TABLE} = {stored}")

    print("\n3. offline mode: the SQL a DBA can review and run, no database needed")
    alembic(project, "upgrade", "head", "--sql")
    alembic(project, "downgrade", f"{ids[2]}:{ids[1]}", "--sql")

    print("\n4. a database built before Alembic: upgrade collides, stamp adopts it")
    alembic(project, "downgrade", "base")
    with engine.begin() as connection:  # what create_all() had built, long ago
        connection.execute(
            text(
                f"CREATE TABLE {CUSTOMERS} (id INTEGER GENERATED BY DEFAULT AS IDENTITY "
                "PRIMARY KEY, name VARCHAR(200) NOT NULL, email VARCHAR(320))"
            )
        )
        connection.execute(
            text(
                f"CREATE TABLE {INVOICES} (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY "
                f"KEY, customer_id INTEGER NOT NULL REFERENCES {CUSTOMERS}, amount "
                f"NUMERIC(12, 2) NOT NULL); CREATE INDEX ix_{INVOICES}_customer_id "
                f"ON {INVOICES} (customer_id)"
            )
        )
    alembic(project, "upgrade", "head")
    alembic(project, "stamp", "head")
    alembic(project, "current")
    alembic(project, "downgrade", "base")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    drop = text(f"DROP TABLE IF EXISTS {INVOICES}, {CUSTOMERS}, {VERSION_TABLE}")
    with engine.begin() as connection:
        connection.execute(drop)
    try:
        with tempfile.TemporaryDirectory(prefix="s5_8_project_") as folder:
            set_up(Path(folder))
            tour(Path(folder), engine)
    finally:
        with engine.begin() as connection:
            connection.execute(drop)
        engine.dispose()


if __name__ == "__main__":
    main()
