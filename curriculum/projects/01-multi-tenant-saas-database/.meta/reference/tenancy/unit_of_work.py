"""The unit of work: one tenant, one session, one transaction at a time.

Nothing is committed unless commit() is called; leaving the block any other way rolls back.
"""

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

from sqlalchemy import CursorResult, Engine, text

from tenancy.models import TenantInfo
from tenancy.repositories import CustomerRepository, InvoiceRepository, UserRepository
from tenancy.scoping import TenantSession


class UnitOfWork:
    """`with tenancy.unit_of_work("acme") as uow: ...; uow.commit()`."""

    def __init__(self, tenant: TenantInfo, bind: Engine) -> None:
        self.tenant = tenant
        self.session = TenantSession(bind, tenant)
        self.users = UserRepository(self.session)
        self.customers = CustomerRepository(self.session)
        self.invoices = InvoiceRepository(self.session)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.session.rollback()  # a no-op after commit(); discards anything uncommitted
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def execute_sql(self, sql: str, params: Mapping[str, Any] | None = None) -> CursorResult[Any]:
        """The escape hatch: raw SQL in this unit of work's transaction, still tenant-scoped.

        Pending ORM changes are flushed first, so the statement sees them. Unqualified table
        names resolve to the tenant's schema (search_path), the statement runs as the tenant's
        role, and row-level security filters pooled rows. Pass values as bound parameters
        (`:name`), never by formatting them into `sql`.
        """
        self.session.flush()
        return self.session.connection().execute(text(sql), dict(params or {}))
