"""One migration history for two databases (PostgreSQL and MariaDB), and a half-failed upgrade."""

import os
import shutil
import tempfile
import textwrap
from argparse import Namespace
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, exc, inspect, text

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
MYSQL_URL = os.environ.get(
    "PYMASTERY_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/pymastery_examples"
)

# Like Alembic's "multidb" template: one file per revision, one function per database.
SCRIPT_TEMPLATE = '''"""${message}"""
from alembic import op
import sqlalchemy as sa

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade(engine_name: str) -> None:
    globals()[f"upgrade_{engine_name}"]()


def downgrade(engine_name: str) -> None:
    globals()[f"downgrade_{engine_name}"]()
'''

ENV_PY = """
import re

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
names = re.split(r",\\s*", config.get_main_option("databases"))
connections = {
    name: create_engine(
        config.get_section_option(name, "sqlalchemy.url"), poolclass=pool.NullPool
    ).connect()
    for name in names
}
transactions = {name: connection.begin() for name, connection in connections.items()}
try:
    for name, connection in connections.items():
        context.configure(connection=connection, version_table="s5_9_alembic_version")
        context.run_migrations(engine_name=name)  # each database has its own version table
    for transaction in transactions.values():
        transaction.commit()
except BaseException:
    for transaction in transactions.values():
        transaction.rollback()
    raise
finally:
    for connection in connections.values():
        connection.close()
"""

CREATE_TABLES = """
def upgrade_orders() -> None:
    op.create_table(
        "s5_9_md_orders",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("placed_on", sa.Date, nullable=False),
        sa.Column("total_cents", sa.Integer, nullable=False),
    )


def downgrade_orders() -> None:
    op.drop_table("s5_9_md_orders")


def upgrade_analytics() -> None:
    op.create_table(
        "s5_9_md_daily_revenue",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("revenue_cents", sa.BigInteger, nullable=False),
    )


def downgrade_analytics() -> None:
    op.drop_table("s5_9_md_daily_revenue")
"""

ADD_CURRENCY = """
def upgrade_orders() -> None:
    op.add_column(
        "s5_9_md_orders", sa.Column("currency", sa.String(3), nullable=False, server_default="EUR")
    )


def downgrade_orders() -> None:
    op.drop_column("s5_9_md_orders", "currency")


def upgrade_analytics() -> None:
    op.add_column(
        "s5_9_md_daily_revenue",
        sa.Column("currency", sa.String(3), nullable=False),  # existing rows get ''
    )
    op.create_check_constraint(
        "ck_s5_9_md_daily_revenue_currency", "s5_9_md_daily_revenue", "char_length(currency) = 3"
    )


def downgrade_analytics() -> None:
    op.drop_constraint("ck_s5_9_md_daily_revenue_currency", "s5_9_md_daily_revenue", "check")
    op.drop_column("s5_9_md_daily_revenue", "currency")
"""


def add_revision(config: Config, message: str, body: str) -> tuple[str, Path]:
    """`alembic revision -m MESSAGE`, then append the per-database functions."""
    script = command.revision(config, message=message)
    assert script is not None and not isinstance(script, list)
    with open(script.path, "a", encoding="utf-8") as handle:
        handle.write(textwrap.dedent(body))
    return script.revision, Path(script.path)


def make_project(root: Path) -> Config:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "script.py.mako").write_text(SCRIPT_TEMPLATE, encoding="utf-8")
    config = Config(cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(root))
    config.set_main_option("databases", "orders, analytics")
    config.set_section_option("orders", "sqlalchemy.url", POSTGRES_URL.replace("%", "%%"))
    config.set_section_option("analytics", "sqlalchemy.url", MYSQL_URL.replace("%", "%%"))
    return config


def state(engines: dict[str, Engine], labels: dict[str, str]) -> None:
    for name, engine in engines.items():
        with engine.connect() as connection:
            version = connection.execute(text("SELECT version_num FROM s5_9_alembic_version"))
            at = ", ".join(labels[rev] for rev in version.scalars()) or "base"
        table = "s5_9_md_orders" if name == "orders" else "s5_9_md_daily_revenue"
        columns = [column["name"] for column in inspect(engine).get_columns(table)]
        print(f"   {name:9} ({engine.dialect.name:10}) version: {at:14} {table}: {columns}")


def drop_everything(engines: dict[str, Engine]) -> None:
    for engine in engines.values():
        with engine.begin() as connection:
            for table in ("s5_9_md_orders", "s5_9_md_daily_revenue", "s5_9_alembic_version"):
                connection.execute(text(f"DROP TABLE IF EXISTS {table}"))


def main() -> None:
    engines = {"orders": create_engine(POSTGRES_URL), "analytics": create_engine(MYSQL_URL)}
    drop_everything(engines)
    root = Path(tempfile.mkdtemp(prefix="s5_9_multidb_"))
    try:
        config = make_project(root / "migrations")
        first, _ = add_revision(config, "create tables", CREATE_TABLES)
        second, second_path = add_revision(config, "add currency", ADD_CURRENCY)
        labels = {first: "create tables", second: "add currency"}

        print("1. upgrade to the first revision: both databases")
        command.upgrade(config, first)
        with engines["orders"].begin() as connection:
            connection.execute(text("INSERT INTO s5_9_md_orders VALUES (1, '2025-03-01', 4200)"))
        with engines["analytics"].begin() as connection:
            connection.execute(
                text("INSERT INTO s5_9_md_daily_revenue VALUES ('2025-03-01', 4200)")
            )
        state(engines, labels)

        print("2. upgrade head: PostgreSQL succeeds, then MariaDB fails half-way")
        try:
            command.upgrade(config, "head")
        except exc.OperationalError as error:
            print(f"   failed: {error.orig}")
        state(engines, labels)

        print("3. fix the migration (give MariaDB's column a default) and run it again")
        fixed = 'nullable=False, server_default="EUR"),'
        source = second_path.read_text(encoding="utf-8")
        second_path.write_text(source.replace("nullable=False),  # existing rows get ''", fixed))
        try:
            command.upgrade(config, "head")
        except exc.OperationalError as error:
            print(f"   failed: {error.orig}")

        print("4. runbook: undo MariaDB's committed DDL by hand, then upgrade")
        with engines["analytics"].begin() as connection:
            connection.execute(text("ALTER TABLE s5_9_md_daily_revenue DROP COLUMN currency"))
        command.upgrade(config, "head")
        state(engines, labels)
    finally:
        drop_everything(engines)
        for engine in engines.values():
            engine.dispose()
        shutil.rmtree(root)


if __name__ == "__main__":
    main()
