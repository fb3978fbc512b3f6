"""A migration that fails halfway, on PostgreSQL and on MariaDB: what is left, and can you retry?

Driven through the Python API (alembic.command with a Config built in code), the way a deploy
script or a test runs migrations. The second revision has a typo in its last operation.
"""

import contextlib
import io
import os
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text

DATABASES = {
    "PostgreSQL": os.environ.get(
        "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
    ),
    "MariaDB": os.environ.get(
        "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
    ),
}
TABLES = ["s5_8_fail_invoices", "s5_8_fail_customers", "s5_8_alembic_version"]

ENV_EDITS = [  # the template reads the URL from the Config we build; add our version table and
    # an option of our own that env.py reads from the [alembic] section
    (
        "connection=connection, target_metadata=target_metadata\n",
        'connection=connection, target_metadata=target_metadata,\n            version_table="'
        's5_8_alembic_version",\n            transaction_per_migration=config.get_main_option('
        '"transaction_per_migration") == "true",\n',
    ),
]
REVISIONS = [  # (message, upgrade body); downgrades are not needed here
    (
        "create customers",
        '    op.create_table("s5_8_fail_customers", sa.Column("id", sa.Integer(), '
        "primary_key=True))\n",
    ),
    (
        "invoices and customer email",
        """\
    op.create_table(
        "s5_8_fail_invoices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("customer_id", sa.Integer(), sa.ForeignKey("s5_8_fail_customers.id")),
    )
    op.add_column("s5_8_fail_customers", sa.Column("email", sa.String(320)))
    op.create_index("ix_s5_8_fail_customers_email", "s5_8_fail_customers", ["emial"])
""",
    ),
]


def make_project(folder: Path) -> Config:
    config = Config(folder / "alembic.ini")
    with contextlib.redirect_stdout(io.StringIO()):  # init's output is in first_migration.py
        command.init(config, str(folder / "migrations"))
    env_py = folder / "migrations" / "env.py"
    source = env_py.read_text()
    for old, new in ENV_EDITS:
        assert source.count(old) == 1, f"env.py template changed: {old!r}"
        source = source.replace(old, new)
    env_py.write_text(source)
    with contextlib.redirect_stdout(io.StringIO()):
        for message, upgrade in REVISIONS:
            script = command.revision(config, message)
            assert script is not None and not isinstance(script, list)
            path = Path(script.path)
            path.write_text(
                path.read_text().replace("    pass\n", upgrade, 1)  # the first pass is upgrade's
            )
    return config


def state(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            schema = inspect(connection)
            present = sorted(t for t in TABLES if schema.has_table(t))
            customers = "s5_8_fail_customers"
            columns = (
                [c["name"] for c in schema.get_columns(customers)] if customers in present else []
            )
            versions: list[str] = []
            if "s5_8_alembic_version" in present:
                query = text("SELECT version_num FROM s5_8_alembic_version")
                versions = list(connection.scalars(query))
    finally:
        engine.dispose()
    return f"tables {present}, customers columns {columns}, version {versions}"


def drop_tables(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in TABLES:
            connection.execute(text(f"DROP TABLE IF EXISTS {table}"))
    engine.dispose()


def attempt(config: Config, url: str, label: str) -> None:
    try:
        command.upgrade(config, "head")
    except Exception as error:  # what the deploy step would see and log
        print(f"   {label}: {type(error).__name__}: {str(error).splitlines()[0]}")
    print(f"   left behind: {state(url)}")


def main() -> None:
    runs = [
        ("PostgreSQL", "false"),
        ("MariaDB", "false"),
        ("PostgreSQL", "true"),
    ]
    with tempfile.TemporaryDirectory(prefix="s5_8_project_") as folder:
        config = make_project(Path(folder))
        for database, per_migration in runs:
            url = DATABASES[database]
            print(f"\n== {database}, transaction_per_migration = {per_migration}")
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
            config.set_main_option("transaction_per_migration", per_migration)
            drop_tables(url)
            try:
                attempt(config, url, "first run")
                attempt(config, url, "retry")
            finally:
                drop_tables(url)


if __name__ == "__main__":
    main()
