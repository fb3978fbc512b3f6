"""Alembic's environment for the data schemas; tenancy.migrate lends the connection.

There is no alembic.ini and no URL here: migrations only ever run through
tenancy.Tenancy, which opens the transaction, sets the search_path to the target schema and
passes the connection and the schema name in config.attributes.
"""

from alembic import context
from sqlalchemy import Connection

from tenancy.models import Base

config = context.config
connection = config.attributes.get("connection")
schema = config.attributes.get("schema")

if context.is_offline_mode() or not isinstance(connection, Connection):
    raise RuntimeError("run these migrations through tenancy.Tenancy, which lends a connection")
if not isinstance(schema, str):
    raise RuntimeError("config.attributes['schema'] names the data schema to migrate")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table_schema=schema,
)
with context.begin_transaction():
    context.run_migrations()
