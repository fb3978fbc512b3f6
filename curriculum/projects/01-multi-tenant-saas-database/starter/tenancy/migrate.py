"""Alembic, run programmatically against one data schema on a connection we own.

The revisions never name a schema. Before Alembic starts, the transaction's search_path is set
to the target schema, so CREATE and ALTER land there, and the version table is kept in that
same schema: each schema records its own revision and can be migrated, or fail, on its own.
"""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class SchemaMigration:
    """What one migrate call did to one schema (from == to: it was already there)."""

    schema: str
    from_revision: str | None
    to_revision: str | None

    @property
    def changed(self) -> bool:
        return self.from_revision != self.to_revision


def current_revision(connection: Connection, schema: str) -> str | None:
    """The revision in schema.alembic_version, or None (alembic's MigrationContext reads it)."""
    raise NotImplementedError("TODO")


def migrate_schema(connection: Connection, schema: str, revision: str = "head") -> SchemaMigration:
    """Upgrade or downgrade one schema to `revision` inside the caller's transaction.

    TODO: point the transaction's search_path at the schema, build an alembic Config whose
    script_location is MIGRATIONS and whose attributes carry the connection and the schema,
    then run command.upgrade, or command.downgrade when the target is older than the current
    revision ("base" included). Report the revisions before and after.
    """
    raise NotImplementedError("TODO")
