"""The unit of work: one tenant, one session, one transaction at a time.

Nothing is committed unless commit() is called; leaving the block any other way rolls back.
"""

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import CursorResult, Engine

from tenancy.models import TenantInfo
from tenancy.repositories import CustomerRepository, InvoiceRepository, UserRepository


class UnitOfWork:
    """`with tenancy.unit_of_work("acme") as uow: ...; uow.commit()`.

    Attributes: tenant (TenantInfo), users, customers, invoices (repositories sharing one
    TenantSession of its own).
    """

    tenant: TenantInfo
    users: UserRepository
    customers: CustomerRepository
    invoices: InvoiceRepository

    def __init__(self, tenant: TenantInfo, bind: Engine) -> None:
        raise NotImplementedError("TODO: a new TenantSession and the three repositories")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        raise NotImplementedError("TODO: roll back whatever was not committed, then close")

    def commit(self) -> None:
        raise NotImplementedError("TODO")

    def rollback(self) -> None:
        raise NotImplementedError("TODO")

    def execute_sql(self, sql: str, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """The escape hatch: raw SQL (with :name bound parameters) in this unit of work's
        transaction, after flushing pending ORM changes. It is still tenant-scoped:
        unqualified names resolve to the tenant's schema, it runs as the tenant's role, and
        row-level security filters pooled rows."""
        raise NotImplementedError("TODO")
