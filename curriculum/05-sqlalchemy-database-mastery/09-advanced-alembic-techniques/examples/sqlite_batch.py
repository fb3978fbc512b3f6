"""Batch mode on SQLite: why ALTER fails, how "move and copy" works, two ways it loses data."""

import shutil
import tempfile
import textwrap
import warnings
from argparse import Namespace
from io import StringIO
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc, text

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

# The caller hands env.py a connection (and owns its transaction); --sql mode needs only a URL.
ENV_PY = """
from alembic import context

config = context.config
options = {"version_table": "s5_9_alembic_version", "render_as_batch": True}
if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True, **options)
else:
    context.configure(connection=config.attributes["connection"], **options)
with context.begin_transaction():
    context.run_migrations()
"""

CREATE_FLEET = """
def upgrade() -> None:
    op.create_table(
        "s5_9_sq_devices",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.CheckConstraint("length(name) > 2"),  # no name: batch mode cannot carry it over
    )
    op.create_table(
        "s5_9_sq_readings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "device_id",
            sa.Integer,
            sa.ForeignKey("s5_9_sq_devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("celsius", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("s5_9_sq_readings")
    op.drop_table("s5_9_sq_devices")
"""

WIDEN_NAME_PLAIN = """
def upgrade() -> None:
    op.alter_column("s5_9_sq_devices", "name", type_=sa.String(120))


def downgrade() -> None:
    op.alter_column("s5_9_sq_devices", "name", type_=sa.String(50))
"""

WIDEN_NAME_BATCH = """
def upgrade() -> None:
    with op.batch_alter_table("s5_9_sq_devices", table_args=TABLE_ARGS) as batch:
        batch.alter_column("name", type_=sa.String(120))
        batch.add_column(sa.Column("site", sa.String(20), nullable=False, server_default="hq"))


def downgrade() -> None:
    with op.batch_alter_table("s5_9_sq_devices", table_args=TABLE_ARGS) as batch:
        batch.drop_column("site")
        batch.alter_column("name", type_=sa.String(50))
"""
NO_TABLE_ARGS = "TABLE_ARGS = ()\n"
RESTATED_CHECK = (
    'TABLE_ARGS = (sa.CheckConstraint("length(name) > 2", name="ck_s5_9_sq_devices_name"),)\n'
)


def app_engine(path: Path) -> Engine:
    """The application's engine: like most SQLite apps, it switches foreign keys on."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def enforce_foreign_keys(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.execute("PRAGMA foreign_keys = ON")

    return engine


def echo_ddl(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
    if statement.lstrip().split(" ", 1)[0] in {"CREATE", "INSERT", "DROP", "ALTER"}:
        print(f"   SQL: {' '.join(statement.split())}")


def make_project(root: Path, url: str) -> Config:
    (root / "versions").mkdir(parents=True)
    (root / "env.py").write_text(ENV_PY, encoding="utf-8")
    (root / "script.py.mako").write_text(SCRIPT_TEMPLATE, encoding="utf-8")
    config = Config(cmd_opts=Namespace(quiet=True))
    config.set_main_option("script_location", str(root))
    config.set_main_option("sqlalchemy.url", url)
    return config


def add_revision(config: Config, message: str, body: str) -> tuple[str, Path]:
    script = command.revision(config, message=message)
    assert script is not None and not isinstance(script, list)
    write_body(Path(script.path), body)
    return script.revision, Path(script.path)


def write_body(path: Path, body: str) -> None:
    header = path.read_text(encoding="utf-8").split("\n\ndef upgrade", 1)[0]
    path.write_text(header + "\n" + textwrap.dedent(body), encoding="utf-8")


def migrate(config: Config, engine: Engine, target: str, foreign_keys: str = "ON") -> None:
    with engine.connect() as connection:
        # Must run outside a transaction: inside one, SQLite silently ignores it.
        connection.exec_driver_sql(f"PRAGMA foreign_keys = {foreign_keys}")
        connection.commit()
        with connection.begin():
            config.attributes["connection"] = connection
            command.upgrade(config, target)
            if foreign_keys == "OFF":  # what the FK checks would have caught, check now
                problems = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                print(f"   PRAGMA foreign_key_check: {len(problems)} violations")


def run(tmp: Path, fixed: bool) -> None:
    engine = app_engine(tmp / "fleet.db")
    config = make_project(tmp / "migrations", f"sqlite:///{tmp / 'fleet.db'}")
    first, _ = add_revision(config, "create devices and readings", CREATE_FLEET)
    second, second_path = add_revision(config, "widen devices.name", WIDEN_NAME_PLAIN)
    migrate(config, engine, first)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO s5_9_sq_devices (id, name) VALUES (1, 'pump-1')"))
        connection.execute(
            text("INSERT INTO s5_9_sq_readings (device_id, celsius) VALUES (1, 4.5), (1, 5.0)")
        )
    if not fixed:
        try:
            migrate(config, engine, second)
        except exc.OperationalError as error:
            print(f"   plain op.alter_column: {str(error).splitlines()[0]}")
    write_body(second_path, (RESTATED_CHECK if fixed else NO_TABLE_ARGS) + WIDEN_NAME_BATCH)
    event.listen(engine, "before_cursor_execute", echo_ddl)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        migrate(config, engine, second, foreign_keys="ON" if not fixed else "OFF")
    event.remove(engine, "before_cursor_execute", echo_ddl)
    for warning in caught:
        print(f"   {warning.category.__name__}: {warning.message}")
    with engine.connect() as connection:
        readings = connection.execute(text("SELECT count(*) FROM s5_9_sq_readings")).scalar()
        ddl = connection.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 's5_9_sq_devices'")
        ).scalar_one()
    print(f"   readings left: {readings} of 2; CHECK kept: {'CHECK' in ddl}")
    engine.dispose()

    if fixed:
        print("   the same revision rendered for PostgreSQL (alembic upgrade --sql):")
        config.set_main_option("sqlalchemy.url", "postgresql+psycopg://")
        config.output_buffer = sql = StringIO()
        command.upgrade(config, f"{first}:{second}", sql=True)
        for line in sql.getvalue().splitlines():
            if line.startswith("ALTER"):
                print(f"   {line}")


def main() -> None:
    for fixed in (False, True):
        print("2. fixed: foreign keys OFF, CHECK restated" if fixed else "1. foreign keys ON")
        tmp = Path(tempfile.mkdtemp(prefix="s5_9_sqlite_"))
        try:
            run(tmp, fixed)
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
