"""The Tenancy facade: install a namespace, provision tenants, migrate, open units of work.

A namespace (say `cap1_prod`) owns these PostgreSQL objects, and nothing else:

    {ns}_control      schema   the tenant registry (table `tenants`)
    {ns}_pooled       schema   the invoicing tables shared by pooled tenants
    {ns}_pooled       role     what pooled tenants' units of work run as
    {ns}_t_{slug}     schema   the invoicing tables of one schema tenant
    {ns}_t_{slug}     role     what that tenant's units of work run as
"""

from sqlalchemy import Engine

from tenancy.migrate import SchemaMigration
from tenancy.models import Placement, TenantInfo
from tenancy.unit_of_work import UnitOfWork


class Tenancy:
    """One namespace of tenants on one PostgreSQL database."""

    engine: Engine
    namespace: str

    def __init__(self, engine: Engine, namespace: str) -> None:
        """Keep the engine; check the namespace (InvalidName) before anything else."""
        raise NotImplementedError("TODO")

    @property
    def control_schema(self) -> str:
        return f"{self.namespace}_control"

    @property
    def pooled_schema(self) -> str:
        return f"{self.namespace}_pooled"

    @property
    def pooled_role(self) -> str:
        return f"{self.namespace}_pooled"

    def schema_for(self, slug: str) -> str:
        """The schema (and role) name of a schema tenant: {ns}_t_{slug}, slug checked first."""
        raise NotImplementedError("TODO")

    def install(self) -> None:
        """Create the control schema and its registry, the pooled schema and role, grant the
        role what it needs, and migrate the pooled schema to head. Safe to run again."""
        raise NotImplementedError("TODO")

    def create_tenant(
        self, slug: str, name: str, placement: Placement = Placement.POOLED
    ) -> TenantInfo:
        """Register a tenant; a schema tenant also gets its role and a migrated schema.

        All in one transaction: on any failure nothing is left behind. A taken slug raises
        TenantExists; an unsafe slug raises InvalidName before any SQL is sent.
        """
        raise NotImplementedError("TODO")

    def get_tenant(self, slug: str) -> TenantInfo:
        """The registered tenant with this slug; TenantNotFound for any other slug."""
        raise NotImplementedError("TODO")

    def tenants(self) -> list[TenantInfo]:
        """Every registered tenant, in creation order."""
        raise NotImplementedError("TODO")

    def data_schemas(self) -> list[str]:
        """The pooled schema first, then each schema tenant's schema in creation order."""
        raise NotImplementedError("TODO")

    def current_revision(self, schema: str) -> str | None:
        """The revision a data schema is at (InvalidName for a schema that is not one)."""
        raise NotImplementedError("TODO")

    def migrate_schema(self, schema: str, revision: str = "head") -> SchemaMigration:
        """Move one data schema to `revision`, up or down, in a transaction of its own.

        InvalidName for a schema that is not one of data_schemas().
        """
        raise NotImplementedError("TODO")

    def upgrade_all(self, revision: str = "head") -> list[SchemaMigration]:
        """Upgrade every data schema, each in its own transaction, in data_schemas() order.

        A failing schema is rolled back alone and the others still run; then MigrationFailed
        is raised with every failure. A schema already at the target is reported unchanged.
        """
        raise NotImplementedError("TODO")

    def unit_of_work(self, slug: str) -> UnitOfWork:
        """A new unit of work for the tenant (TenantNotFound if there is none)."""
        raise NotImplementedError("TODO")
