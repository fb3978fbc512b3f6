"""From create_all() to a first Alembic migration: init, alembic.ini, env.py, upgrade, downgrade.

Every `$ alembic ...` line runs alembic.config.main(argv), the function the `alembic` console
script calls, inside this process and from the project folder, so its output is the CLI's own.
"""

import contextlib
import difflib
import os
import shlex
import tempfile
from pathlib import Path

from alembic.config import main as alembic_cli
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.exc import ProgrammingError

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
TABLE, VERSION_TABLE = "s5_8_first_customers", "s5_8_alembic_version"

# The edits every generated env.py needs here, as (generated text, our text) pairs: the URL
# comes from the environment (no password in alembic.ini) and the version table is our own.
ENV_EDITS = [
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
# %% because configparser treats a % (as in a URL-encoded password) as interpolation
url = os.environ.get("PYMASTERY_POSTGRES_URL", DEFAULT_URL)
config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
""",
    ),
    (
        '        dialect_opts={"paramstyle": "named"},\n',
        '        dialect_opts={"paramstyle": "named"},\n        version_table=VERSION_TABLE,\n',
    ),
    (
        "            connection=connection, target_metadata=target_metadata\n",
        """            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
""",
    ),
]

# What we type into the generated revision file in place of its two `pass` lines.
UPGRADE_BODY = """\
    op.create_table(
        "s5_8_first_customers",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.UniqueConstraint("email", name="uq_s5_8_first_customers_email"),
    )
"""
DOWNGRADE_BODY = """\
    op.drop_table("s5_8_first_customers")
"""


def alembic(project: Path, *argv: str) -> None:
    """Run one `alembic ...` command line in this process, from the project folder."""
    print(f"$ alembic {shlex.join(argv)}")  # quoted as you would type it
    with contextlib.chdir(project):
        try:
            alembic_cli(argv=list(argv), prog="alembic")
        except SystemExit as stop:  # the CLI reports a CommandError as "FAILED: ..." and exits
            print(f"(exit status {stop.code})")
        except Exception as error:  # the CLI would print a traceback; its last line is enough
            print(f"{type(error).__module__}.{type(error).__qualname__}: {error}")


def create_all_is_not_a_migration(engine: Engine) -> None:
    print("1. create_all() creates missing tables; it never changes an existing one")
    version_1 = MetaData()
    Table(TABLE, version_1, Column("id", Integer, primary_key=True))
    version_1.create_all(engine)
    version_2 = MetaData()
    customers = Table(
        TABLE, version_2, Column("id", Integer, primary_key=True), Column("email", String(320))
    )
    version_2.create_all(engine)  # the table exists, so nothing is sent; email is still missing
    try:
        with engine.connect() as connection:
            connection.execute(select(customers.c.id, customers.c.email))
    except ProgrammingError as error:
        first_line = str(error.orig).splitlines()[0]
        print(f"   {type(error.orig).__module__}.{type(error.orig).__name__}: {first_line}")
    version_2.drop_all(engine)


def run_first_migration(project: Path, engine: Engine) -> None:
    print("\n2. a migration environment")
    alembic(project, "init", "migrations")
    files = sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())
    print(f"   files: {', '.join(files)}")
    ini = (project / "alembic.ini").read_text()
    alembic_section = ini.split("[alembic]")[1].split("\n[")[0]
    settings = [line for line in alembic_section.splitlines() if line and line[0] != "#"]
    print("   active settings in [alembic]:", *settings, sep="\n     ")

    print("\n3. the generated env.py still points at the placeholder URL")
    alembic(project, "current")

    env_py = project / "migrations" / "env.py"
    original = env_py.read_text()
    edited = original
    for old, new in ENV_EDITS:
        assert edited.count(old) == 1, f"env.py template changed: {old!r}"
        edited = edited.replace(old, new)
    env_py.write_text(edited)
    print("\n4. our edits to migrations/env.py")
    diff = difflib.unified_diff(
        original.splitlines(), edited.splitlines(), "env.py (generated)", "env.py", n=1, lineterm=""
    )
    print(*(f"   {line}".rstrip() for line in diff), sep="\n")
    alembic(project, "current")

    print("\n5. a first, hand-written revision")
    alembic(project, "revision", "-m", "create customers table")
    (revision_file,) = (project / "migrations" / "versions").glob("*.py")
    print(f"   --- {revision_file.name}")
    print(*(f"   {line}".rstrip() for line in revision_file.read_text().splitlines()), sep="\n")
    source = revision_file.read_text()
    source = source.replace(
        '"""Upgrade schema."""\n    pass\n', '"""Upgrade schema."""\n' + UPGRADE_BODY
    )
    source = source.replace(
        '"""Downgrade schema."""\n    pass\n', '"""Downgrade schema."""\n' + DOWNGRADE_BODY
    )
    revision_file.write_text(source)

    print("\n6. apply it, look at the database, take it back")
    alembic(project, "upgrade", "head")
    alembic(project, "current")
    with engine.connect() as connection:
        columns = [c["name"] for c in inspect(connection).get_columns(TABLE)]
        versions = connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    print(f"   {TABLE} columns: {columns}; {VERSION_TABLE} rows: {versions}")
    alembic(project, "downgrade", "base")
    with engine.connect() as connection:
        exists = inspect(connection).has_table(TABLE)
        versions = connection.scalars(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    print(f"   {TABLE} exists: {exists}; {VERSION_TABLE} rows: {versions}")


def main() -> None:
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}, {VERSION_TABLE}"))
    try:
        create_all_is_not_a_migration(engine)
        with tempfile.TemporaryDirectory(prefix="s5_8_project_") as folder:
            run_first_migration(Path(folder), engine)
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP TABLE IF EXISTS {TABLE}, {VERSION_TABLE}"))
        engine.dispose()


if __name__ == "__main__":
    main()
