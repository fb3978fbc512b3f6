"""The tenant-bound Session and the three hooks that keep it inside its tenant.

1. after_begin: every transaction starts with transaction-local settings (SET LOCAL
   semantics): the tenant's role, its schema as the search_path, and app.tenant_id for the
   row-level-security policies. They end with the transaction, so nothing outlives it.
2. do_orm_execute: every ORM SELECT, UPDATE and DELETE gets `tenant_id = :id` through
   with_loader_criteria, for every tenant-scoped class anywhere in the statement.
3. before_flush: a new object gets the tenant's id; an object carrying another id is refused.
"""

import logging
from typing import Any

from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    UOWTransaction,
    with_loader_criteria,
)

from tenancy.errors import CrossTenantWrite
from tenancy.models import TenantInfo, TenantScoped
from tenancy.naming import quoted

log = logging.getLogger("tenancy.scoping")

APPLY_SCOPE = text(
    "SELECT set_config('role', :role, true),"
    " set_config('search_path', :search_path, true),"
    " set_config('app.tenant_id', :tenant_id, true)"
)


class TenantSession(Session):
    """A Session that belongs to one tenant for its whole life."""

    def __init__(self, bind: Engine, tenant: TenantInfo) -> None:
        super().__init__(bind=bind, expire_on_commit=False)
        self.tenant = tenant


@event.listens_for(TenantSession, "after_begin")
def apply_scope(session: Session, transaction: SessionTransaction, connection: Connection) -> None:
    assert isinstance(session, TenantSession)
    tenant = session.tenant
    connection.execute(
        APPLY_SCOPE,
        {
            "role": tenant.role,
            "search_path": quoted(tenant.schema),
            "tenant_id": str(tenant.id),
        },
    )


@event.listens_for(TenantSession, "do_orm_execute")
def filter_by_tenant(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        # The criteria travel with loaded objects to their lazy loads, and every relationship
        # joins on tenant_id too (the foreign keys are composite), so these are scoped already.
        return
    assert isinstance(state.session, TenantSession)
    tenant_id = state.session.tenant.id
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


@event.listens_for(TenantSession, "before_flush")
def stamp_tenant(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    assert isinstance(session, TenantSession)
    tenant = session.tenant
    for obj in session.new:
        if isinstance(obj, TenantScoped) and obj.tenant_id is None:
            obj.tenant_id = tenant.id
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, TenantScoped) and obj.tenant_id != tenant.id:
            log.warning(
                "refused %s with tenant_id=%s in a unit of work of tenant %s",
                type(obj).__name__,
                obj.tenant_id,
                tenant.slug,
            )
            raise CrossTenantWrite(
                f"{type(obj).__name__} carries tenant_id={obj.tenant_id}, but this unit of "
                f"work belongs to tenant {tenant.slug!r} (id {tenant.id})"
            )
