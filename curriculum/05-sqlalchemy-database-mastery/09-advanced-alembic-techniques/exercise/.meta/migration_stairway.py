"""A stairway test harness for an Alembic migration history.

For every revision, oldest first: upgrade to it, downgrade one step, check that the schema is
exactly what it was before the upgrade, then upgrade again. A broken downgrade shows up at the
revision that owns it, instead of months later during an incident.
"""

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect

VERSION_TABLE = "s5_9_ex_alembic_version"


@dataclass(frozen=True)
class TableShape:
    """What the stairway compares for one table."""

    columns: tuple[tuple[str, str, bool], ...]  # (name, type as SQL, nullable), table order
    indexes: tuple[tuple[str, tuple[str, ...], bool], ...]  # (name, columns, unique), by name


class StairwayError(Exception):
    """A revision failed one step of the stairway."""

    def __init__(self, revision: str, step: str, detail: str) -> None:
        super().__init__(f"revision {revision}: {step} failed: {detail}")
        self.revision = revision
        self.step = step  # "upgrade", "downgrade" or "upgrade again"
        self.detail = detail


def make_config(script_location: Path, url: str) -> Config:
    """A programmatic Alembic configuration; env.py reads sqlalchemy.url from it."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def revisions_in_order(config: Config) -> list[str]:
    """Every revision id of a linear history, from the first (base) to the head."""
    scripts = ScriptDirectory.from_config(config)
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def schema_snapshot(engine: Engine, prefix: str) -> dict[str, TableShape]:
    """The shape of every table whose name starts with `prefix`, minus Alembic's version table."""
    inspector = inspect(engine)  # a new Inspector: an old one would answer from its cache
    snapshot: dict[str, TableShape] = {}
    for table in inspector.get_table_names():
        if not table.startswith(prefix) or table == VERSION_TABLE:
            continue
        columns = tuple(
            (column["name"], str(column["type"]), bool(column["nullable"]))
            for column in inspector.get_columns(table)
        )
        indexes = tuple(
            sorted(
                (str(index["name"]), tuple(str(c) for c in index["column_names"]), index["unique"])
                for index in inspector.get_indexes(table)
            )
        )
        snapshot[table] = TableShape(columns, indexes)
    return snapshot


def run_stairway(config: Config, engine: Engine, prefix: str) -> list[str]:
    """Walk every revision up, down and up again; return the revisions checked, in order.

    Raises StairwayError at the first revision that fails a step, or whose downgrade leaves the
    schema different from what it was before that revision's upgrade. On success the database
    is left at head.
    """
    checked: list[str] = []
    for revision in revisions_in_order(config):
        before = schema_snapshot(engine, prefix)
        for step, action, target in (
            ("upgrade", command.upgrade, revision),
            ("downgrade", command.downgrade, "-1"),
            ("upgrade again", command.upgrade, revision),
        ):
            try:
                action(config, target)
            except Exception as error:
                raise StairwayError(revision, step, str(error).splitlines()[0]) from error
            if step == "downgrade":
                after = schema_snapshot(engine, prefix)
                if after != before:
                    changed = sorted(
                        name
                        for name in before.keys() | after.keys()
                        if before.get(name) != after.get(name)
                    )
                    raise StairwayError(
                        revision, step, f"schema differs from before the upgrade in {changed}"
                    )
        checked.append(revision)
    return checked
