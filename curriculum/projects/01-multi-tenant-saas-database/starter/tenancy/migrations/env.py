"""Alembic's environment for the data schemas; tenancy.migrate lends the connection.

There is no alembic.ini and no URL here: migrations only ever run through tenancy.Tenancy,
which opens the transaction, points the search_path at the target schema and passes the
connection and the schema name in config.attributes.
"""

from alembic import context

config = context.config

# TODO: take the connection and the schema from config.attributes (refuse offline mode and a
# missing connection with a clear error), configure the context with the connection, the data
# plane's metadata (tenancy.models.Base.metadata) and version_table_schema=schema, then run
# the migrations inside context.begin_transaction().
raise NotImplementedError("TODO: configure the migration context")
