"""Repositories: the only way application code reads and writes tenant rows.

Each repository works inside its unit of work's TenantSession, so every query it sends is
already scoped; the repositories add the checks that need domain knowledge, such as "this
invoice's customer must be one of the tenant's customers".
"""

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Generic, TypeVar

from sqlalchemy import func, select

from tenancy.errors import CrossTenantWrite, RecordNotFound
from tenancy.models import Customer, Invoice, InvoiceLine, TenantScoped, User
from tenancy.scoping import TenantSession

M = TypeVar("M", bound=TenantScoped)

log = logging.getLogger("tenancy.repositories")


class Repository(Generic[M]):
    """add / get / list / remove for one tenant-scoped model."""

    model: type[M]

    def __init__(self, session: TenantSession) -> None:
        self.session = session

    def add(self, entity: M) -> M:
        """Stage the entity, stamp it with the tenant and flush, so its id is known."""
        tenant_id = self.session.tenant.id
        if entity.tenant_id is not None and entity.tenant_id != tenant_id:
            log.warning(
                "refused %s with tenant_id=%s in a unit of work of tenant %s",
                type(entity).__name__,
                entity.tenant_id,
                self.session.tenant.slug,
            )
            raise CrossTenantWrite(
                f"{type(entity).__name__} carries tenant_id={entity.tenant_id}; this unit of "
                f"work belongs to tenant {self.session.tenant.slug!r} (id {tenant_id})"
            )
        entity.tenant_id = tenant_id
        self.session.add(entity)
        self.session.flush()
        return entity

    def get(self, entity_id: int) -> M | None:
        """The tenant's row with this id, or None, also when another tenant has such a row."""
        return self.session.get(self.model, entity_id)

    def list(self) -> Sequence[M]:
        """Every row of the tenant, in id order."""
        return self.session.scalars(select(self.model).order_by(self.model.id)).all()

    def remove(self, entity: M) -> None:
        self.session.delete(entity)
        self.session.flush()


class UserRepository(Repository[User]):
    model = User

    def by_email(self, email: str) -> User | None:
        return self.session.scalars(select(User).where(User.email == email)).one_or_none()


class CustomerRepository(Repository[Customer]):
    model = Customer

    def by_name(self, name: str) -> Sequence[Customer]:
        return self.session.scalars(
            select(Customer).where(Customer.name == name).order_by(Customer.id)
        ).all()


class InvoiceRepository(Repository[Invoice]):
    model = Invoice

    def add(self, entity: Invoice) -> Invoice:
        """Refuse an invoice whose customer is not one of this tenant's customers."""
        customer_id: int | None = entity.customer_id
        if customer_id is None and entity.customer is not None:
            customer_id = entity.customer.id  # None while that customer is new, which is fine
        if customer_id is not None and self.session.get(Customer, customer_id) is None:
            log.warning(
                "refused an invoice for customer %s, not a customer of tenant %s",
                customer_id,
                self.session.tenant.slug,
            )
            raise RecordNotFound(
                f"customer {customer_id} is not a customer of tenant {self.session.tenant.slug!r}"
            )
        return super().add(entity)

    def for_customer(self, customer_id: int) -> Sequence[Invoice]:
        return self.session.scalars(
            select(Invoice).where(Invoice.customer_id == customer_id).order_by(Invoice.id)
        ).all()

    def totals_by_customer(self) -> dict[int, Decimal]:
        """Invoiced amount per customer id, summed in the database."""
        amount = func.sum(InvoiceLine.unit_price * InvoiceLine.quantity)
        rows = self.session.execute(
            select(Invoice.customer_id, amount).join(Invoice.lines).group_by(Invoice.customer_id)
        )
        return dict(rows.all())
