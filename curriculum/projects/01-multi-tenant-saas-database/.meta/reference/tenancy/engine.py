"""The engine factory: a connection goes back to the pool with no tenant state left on it."""

import logging
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

log = logging.getLogger("tenancy.engine")


def create_tenancy_engine(url: str, **kwargs: Any) -> Engine:
    """create_engine() plus a reset-on-return that clears role, search_path and settings.

    Units of work only ever use transaction-local settings, which end with the transaction.
    Code that runs a session-level SET on a pooled connection (an escape-hatch statement, a
    script borrowing the engine) would otherwise hand that state to the next checkout.
    """
    engine = create_engine(url, pool_reset_on_return=None, **kwargs)
    event.listen(engine, "reset", reset_session_state)
    return engine


def reset_session_state(
    dbapi_connection: DBAPIConnection,
    connection_record: ConnectionPoolEntry,
    reset_state: PoolResetState,
) -> None:
    # The rollback comes first: a RESET run inside the open transaction and then rolled
    # back would be undone along with it.
    dbapi_connection.rollback()
    if reset_state.terminate_only:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("RESET ROLE")  # RESET ALL leaves the role alone
        cursor.execute("RESET ALL")
    finally:
        cursor.close()
    dbapi_connection.commit()
    log.debug("connection reset before returning to the pool")
