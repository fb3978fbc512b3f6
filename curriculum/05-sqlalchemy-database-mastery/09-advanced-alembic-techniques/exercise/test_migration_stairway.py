"""Behavioural tests for migration_stairway.py, run against a real PostgreSQL."""

import os
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from migration_stairway import (
    VERSION_TABLE,
    StairwayError,
    TableShape,
    make_config,
    revisions_in_order,
    run_stairway,
    schema_snapshot,
)
from sqlalchemy import Engine, create_engine, inspect, text

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
PREFIX = "s5_9_ex_"

ENV_PY = f"""
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, version_table={VERSION_TABLE!r})
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
"""

CREATE_ORDERS = (
    """op.create_table(
    "s5_9_ex_orders",
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("reference", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
)""",
    'op.drop_table("s5_9_ex_orders")',
)
INDEX_REFERENCE = (
    'op.create_index("ix_s5_9_ex_orders_reference", "s5_9_ex_orders", ["reference"])',
    'op.drop_index("ix_s5_9_ex_orders_reference", table_name="s5_9_ex_orders")',
)
ADD_TOTAL = (
    'op.add_column("s5_9_ex_orders", sa.Column("total_cents", sa.Integer))',
    'op.drop_column("s5_9_ex_orders", "total_cents")',
)


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = create_engine(URL)
    drop_exercise_tables(engine)
    yield engine
    drop_exercise_tables(engine)
    engine.dispose()


def drop_exercise_tables(engine: Engine) -> None:
    with engine.begin() as connection:
        for table in inspect(connection).get_table_names():
            if table.startswith(PREFIX):
                connection.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))


def project(tmp_path: Path, *revisions: tuple[str, str | None, tuple[str, str]]) -> Config:
    """A migration directory with one file per (revision, down_revision, (upgrade, downgrade))."""
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "migrations" / "env.py").write_text(ENV_PY, encoding="utf-8")
    for number, (revision, down_revision, (upgrade, downgrade)) in enumerate(revisions):
        source = (
            "from alembic import op\nimport sqlalchemy as sa\n\n"
            f"revision = {revision!r}\ndown_revision = {down_revision!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{textwrap.indent(upgrade, '    ')}\n\n\n"
            f"def downgrade():\n{textwrap.indent(downgrade, '    ')}\n"
        )
        # File names sort in reverse history order, so sorting names gives the wrong answer.
        (versions / f"{99 - number:02d}_{revision}.py").write_text(source, encoding="utf-8")
    return make_config(tmp_path / "migrations", URL)


def healthy(tmp_path: Path) -> Config:
    return project(
        tmp_path,
        ("a1", None, CREATE_ORDERS),
        ("b2", "a1", INDEX_REFERENCE),
        ("c3", "b2", ADD_TOTAL),
    )


def test_revisions_in_order_follows_down_revision_links_not_file_names(tmp_path: Path) -> None:
    config = project(
        tmp_path,
        ("zeta", None, CREATE_ORDERS),
        ("alpha", "zeta", INDEX_REFERENCE),
        ("mu", "alpha", ADD_TOTAL),
    )
    assert revisions_in_order(config) == ["zeta", "alpha", "mu"], (
        "the order comes from the revision graph (down_revision), oldest first; "
        "ScriptDirectory.walk_revisions() yields it newest first"
    )


def test_snapshot_records_columns_types_nullability_and_indexes(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE s5_9_ex_orders (id integer PRIMARY KEY, "
                "reference varchar(20) NOT NULL, note text)"
            )
        )
        connection.execute(text("CREATE UNIQUE INDEX ix_ref ON s5_9_ex_orders (reference, id)"))
    snapshot = schema_snapshot(engine, PREFIX)
    assert snapshot == {
        "s5_9_ex_orders": TableShape(
            columns=(
                ("id", "INTEGER", False),
                ("reference", "VARCHAR(20)", False),
                ("note", "TEXT", True),
            ),
            indexes=(("ix_ref", ("reference", "id"), True),),
        )
    }, "columns as (name, str(type), nullable) in table order; indexes as (name, columns, unique)"


def test_snapshot_skips_other_prefixes_and_the_version_table(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text(f"CREATE TABLE {VERSION_TABLE} (version_num varchar(32))"))
        connection.execute(text("CREATE TABLE s5_9_ex_orders (id integer PRIMARY KEY)"))
        connection.execute(text("DROP TABLE IF EXISTS s5_9_other_ledger"))
        connection.execute(text("CREATE TABLE s5_9_other_ledger (id integer PRIMARY KEY)"))
    try:
        tables = set(schema_snapshot(engine, PREFIX))
    finally:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE s5_9_other_ledger"))
    assert tables == {"s5_9_ex_orders"}, (
        "only tables named with the prefix belong to the snapshot, and never the version table: "
        "Alembic creates it on the first upgrade and leaves it there after downgrading to base"
    )


def test_snapshot_sees_changes_made_after_an_earlier_snapshot(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE s5_9_ex_orders (id integer PRIMARY KEY)"))
    first = schema_snapshot(engine, PREFIX)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE s5_9_ex_orders ADD COLUMN note text"))
    second = schema_snapshot(engine, PREFIX)
    assert first != second, (
        "each snapshot must read the catalog again: an Inspector caches what it has reflected, "
        "so keep none between calls"
    )


def test_a_healthy_history_passes_and_returns_every_revision_in_order(
    tmp_path: Path, engine: Engine
) -> None:
    assert run_stairway(healthy(tmp_path), engine, PREFIX) == ["a1", "b2", "c3"], (
        "a history whose downgrades undo their upgrades passes; if a1 fails, check that the "
        "version table is left out of the snapshot"
    )


def test_a_passing_run_leaves_the_database_at_head(tmp_path: Path, engine: Engine) -> None:
    run_stairway(healthy(tmp_path), engine, PREFIX)
    with engine.connect() as connection:
        versions = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
        columns = [c["name"] for c in inspect(connection).get_columns("s5_9_ex_orders")]
    assert versions == [("c3",)], "the last step is the head revision's second upgrade"
    assert columns == ["id", "reference", "note", "total_cents"]


def test_a_downgrade_that_leaves_an_index_behind_is_caught_at_its_revision(
    tmp_path: Path, engine: Engine
) -> None:
    leaky_index = (INDEX_REFERENCE[0], "pass  # forgot to drop the index")
    config = project(
        tmp_path, ("a1", None, CREATE_ORDERS), ("b2", "a1", leaky_index), ("c3", "b2", ADD_TOTAL)
    )
    with pytest.raises(StairwayError) as caught:
        run_stairway(config, engine, PREFIX)
    assert (caught.value.revision, caught.value.step) == ("b2", "downgrade"), (
        "compare the schema after the downgrade with the one before the upgrade: the leftover "
        "index differs there, before the second upgrade even runs"
    )
    assert "s5_9_ex_orders" in caught.value.detail, "the detail names the table that differs"


def test_a_downgrade_that_forgets_nullability_is_caught_though_nothing_raises(
    tmp_path: Path, engine: Engine
) -> None:
    tighten = (
        'op.alter_column("s5_9_ex_orders", "note", existing_type=sa.Text, nullable=False)',
        "pass  # forgot to make note nullable again",
    )
    config = project(tmp_path, ("a1", None, CREATE_ORDERS), ("b2", "a1", tighten))
    with pytest.raises(StairwayError) as caught:
        run_stairway(config, engine, PREFIX)
    assert (caught.value.revision, caught.value.step) == ("b2", "downgrade"), (
        "SET NOT NULL runs again without error, so only the schema comparison can see that "
        "the downgrade did not restore the column"
    )


def test_a_downgrade_that_raises_is_reported_with_the_database_error(
    tmp_path: Path, engine: Engine
) -> None:
    wrong_column = (ADD_TOTAL[0], 'op.drop_column("s5_9_ex_orders", "total")')
    config = project(tmp_path, ("a1", None, CREATE_ORDERS), ("b2", "a1", wrong_column))
    with pytest.raises(StairwayError) as caught:
        run_stairway(config, engine, PREFIX)
    assert (caught.value.revision, caught.value.step) == ("b2", "downgrade")
    assert 'column "total" of relation "s5_9_ex_orders" does not exist' in caught.value.detail, (
        "detail carries the first line of the original error, the line a developer needs"
    )
    assert caught.value.__cause__ is not None, "chain the original exception: raise ... from it"


def test_an_upgrade_that_fails_is_reported_as_the_upgrade_step(
    tmp_path: Path, engine: Engine
) -> None:
    broken = ('op.execute("ALTER TABLE s5_9_ex_missing ADD COLUMN x integer")', "pass")
    config = project(
        tmp_path, ("a1", None, CREATE_ORDERS), ("b2", "a1", INDEX_REFERENCE), ("c3", "b2", broken)
    )
    with pytest.raises(StairwayError) as caught:
        run_stairway(config, engine, PREFIX)
    assert (caught.value.revision, caught.value.step) == ("c3", "upgrade"), (
        "a1 and b2 are healthy and pass; the first failure belongs to c3's upgrade"
    )
    assert 'relation "s5_9_ex_missing" does not exist' in caught.value.detail
