"""tenancy: the data layer of a multi-tenant invoicing product on PostgreSQL.

Typical use (SPEC.md has the whole API):

engine = create_tenancy_engine(url)
tenancy = Tenancy(engine, namespace="acme_prod")
tenancy.install()
tenancy.create_tenant("globex", "Globex Corporation", Placement.SCHEMA)
with tenancy.unit_of_work("globex") as uow:
    customer = uow.customers.add(Customer(name="Initech"))
    uow.commit()
"""

from tenancy.engine import create_tenancy_engine
from tenancy.errors import (
    CrossTenantWrite,
    InvalidName,
    MigrationFailed,
    RecordNotFound,
    TenancyError,
    TenantExists,
    TenantNotFound,
)
from tenancy.migrate import SchemaMigration
from tenancy.models import (
    Base,
    ControlBase,
    Customer,
    Invoice,
    InvoiceLine,
    Placement,
    Tenant,
    TenantInfo,
    TenantScoped,
    User,
)
from tenancy.repositories import (
    CustomerRepository,
    InvoiceRepository,
    Repository,
    UserRepository,
)
from tenancy.tenancy import Tenancy
from tenancy.unit_of_work import UnitOfWork

__all__ = [
    "Base",
    "ControlBase",
    "CrossTenantWrite",
    "Customer",
    "CustomerRepository",
    "InvalidName",
    "Invoice",
    "InvoiceLine",
    "InvoiceRepository",
    "MigrationFailed",
    "Placement",
    "RecordNotFound",
    "Repository",
    "SchemaMigration",
    "Tenancy",
    "TenancyError",
    "Tenant",
    "TenantExists",
    "TenantInfo",
    "TenantNotFound",
    "TenantScoped",
    "UnitOfWork",
    "User",
    "UserRepository",
    "create_tenancy_engine",
]
