"""Repositories: the only way application code reads and writes tenant rows.

Each repository works inside its unit of work's TenantSession, so the queries it sends are
scoped already; the repositories add the checks that need domain knowledge.
"""

from collections.abc import Sequence
from decimal import Decimal
from typing import Generic, TypeVar

from tenancy.models import Customer, Invoice, TenantScoped, User
from tenancy.scoping import TenantSession

M = TypeVar("M", bound=TenantScoped)


class Repository(Generic[M]):
    """add / get / list / remove for one tenant-scoped model."""

    model: type[M]

    def __init__(self, session: TenantSession) -> None:
        self.session = session

    def add(self, entity: M) -> M:
        """Stamp the entity with the tenant (CrossTenantWrite if it carries another tenant's
        id), add it and flush, so that its id is known; return it."""
        raise NotImplementedError("TODO")

    def get(self, entity_id: int) -> M | None:
        """The tenant's row with this id, or None, also when another tenant has such a row."""
        raise NotImplementedError("TODO")

    def list(self) -> Sequence[M]:
        """Every row of the tenant, in id order."""
        raise NotImplementedError("TODO")

    def remove(self, entity: M) -> None:
        """Delete the row and flush."""
        raise NotImplementedError("TODO")


class UserRepository(Repository[User]):
    model = User

    def by_email(self, email: str) -> User | None:
        raise NotImplementedError("TODO")


class CustomerRepository(Repository[Customer]):
    model = Customer

    def by_name(self, name: str) -> Sequence[Customer]:
        """The tenant's customers with exactly this name, in id order."""
        raise NotImplementedError("TODO")


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    def add(self, entity: Invoice) -> Invoice:
        """Like Repository.add, but first raise RecordNotFound when the invoice's customer is
        not one of this tenant's customers."""
        raise NotImplementedError("TODO")

    def for_customer(self, customer_id: int) -> Sequence[Invoice]:
        """The tenant's invoices of one customer, in id order."""
        raise NotImplementedError("TODO")

    def totals_by_customer(self) -> dict[int, Decimal]:
        """customer id -> sum of quantity x unit price over all its invoices' lines, computed
        by the database in one query (customers without invoices are absent)."""
        raise NotImplementedError("TODO")
