"""Alembic, run programmatically against one data schema on a connection we own.

The revisions never name a schema. Before Alembic starts, the transaction's search_path is set
to the target schema, so CREATE/ALTER land there, and the version table is kept in that same
schema: each schema records its own revision and can be migrated, or fail, on its own.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from tenancy.naming import quoted

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger("tenancy.migrate")


@dataclass(frozen=True)
class SchemaMigration:
    """What one migrate call did to one schema (from == to: it was already there)."""

    schema: str
    from_revision: str | None
    to_revision: str | None

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


def alembic_config(connection: Connection, schema: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    config.attributes["schema"] = schema
    return config


def current_revision(connection: Connection, schema: str) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table_schema": schema})
    return context.get_current_revision()


def migrate_schema(connection: Connection, schema: str, revision: str = "head") -> SchemaMigration:
    """Upgrade or downgrade one schema inside the caller's transaction.

    A transaction-level advisory lock keyed on the schema name makes a second migrator (two
    deploys at once) wait instead of racing. PostgreSQL DDL is transactional, so a failure
    leaves the schema exactly as it was.
    """
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext(:schema))"), {"schema": schema})
    connection.execute(
        text("SELECT set_config('search_path', :path, true)"), {"path": quoted(schema)}
    )
    before = current_revision(connection, schema)
    config = alembic_config(connection, schema)
    script = ScriptDirectory.from_config(config)
    older = set()
    if before is not None:
        older = {
            step.revision for step in script.iterate_revisions(before, "base") if step is not None
        }
        older.discard(before)
    if revision == "base" or revision in older:
        command.downgrade(config, revision)
    else:
        command.upgrade(config, revision)
    after = current_revision(connection, schema)
    if before != after:
        log.info("migrated %s from %s to %s", schema, before, after)
    return SchemaMigration(schema, before, after)
