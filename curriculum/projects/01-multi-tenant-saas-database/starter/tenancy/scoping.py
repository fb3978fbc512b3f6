"""The tenant-bound Session and the hooks that keep it inside its tenant.

Three jobs, each one a SQLAlchemy session event registered on TenantSession:

1. At the start of every transaction (not just the first one), apply the tenant's scope with
   transaction-local settings: its role, its schema as the search_path, and app.tenant_id for
   the row-level-security policies.
2. Add `tenant_id = <the tenant's id>` to every ORM SELECT, UPDATE and DELETE, for every
   TenantScoped class in the statement (with_loader_criteria).
3. Before a flush, stamp new TenantScoped objects with the tenant's id and refuse, with
   CrossTenantWrite, any new or changed object that carries another tenant's id.
"""

from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction

from tenancy.models import TenantInfo


class TenantSession(Session):
    """A Session that belongs to one tenant for its whole life."""

    def __init__(self, bind: Engine, tenant: TenantInfo) -> None:
        super().__init__(bind=bind, expire_on_commit=False)
        self.tenant = tenant


# TODO: register each hook below on TenantSession with @event.listens_for.


def apply_scope(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    """after_begin: set role, search_path and app.tenant_id for this transaction only."""
    raise NotImplementedError("TODO")


def filter_by_tenant(state: ORMExecuteState) -> None:
    """do_orm_execute: add the tenant criteria to ORM SELECT, UPDATE and DELETE statements."""
    raise NotImplementedError("TODO")


def stamp_tenant(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    """before_flush: stamp new objects; raise CrossTenantWrite for a foreign tenant_id."""
    raise NotImplementedError("TODO")
