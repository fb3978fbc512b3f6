"""A stairway test harness for an Alembic migration history.

For every revision, oldest first: upgrade to it, downgrade one step, check that the schema is
exactly what it was before the upgrade, then upgrade again. A broken downgrade shows up at the
revision that owns it, instead of months later during an incident.
"""

from dataclasses import dataclass
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine

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
    # TODO: build a ScriptDirectory from the config and walk its revisions. Mind the direction:
    # walk_revisions() starts at the head.
    raise NotImplementedError


def schema_snapshot(engine: Engine, prefix: str) -> dict[str, TableShape]:
    """The shape of every table whose name starts with `prefix`, minus Alembic's version table."""
    # TODO: reflect with sqlalchemy.inspect(engine). For each table in scope, record its columns
    # as (name, str(type), nullable) in table order and its indexes as (name, column names,
    # unique), sorted. Reflect afresh on every call.
    raise NotImplementedError


def run_stairway(config: Config, engine: Engine, prefix: str) -> list[str]:
    """Walk every revision up, down and up again; return the revisions checked, in order.

    Raises StairwayError at the first revision that fails a step, or whose downgrade leaves the
    schema different from what it was before that revision's upgrade. On success the database
    is left at head.
    """
    # TODO: for each revision, oldest first:
    #   1. snapshot the schema, then alembic.command.upgrade(config, revision)
    #   2. command.downgrade(config, "-1") and compare a new snapshot with the first one
    #   3. command.upgrade(config, revision) again
    # Wrap any exception from a step in StairwayError(revision, step, first line of the error)
    # and chain the original with `raise ... from error`.
    raise NotImplementedError
