"""The Tenancy facade: install a namespace, provision tenants, migrate, open units of work.

A namespace (say `cap1_prod`) owns these PostgreSQL objects, and nothing else:

    {ns}_control      schema   the tenant registry (table `tenants`)
    {ns}_pooled       schema   the invoicing tables shared by pooled tenants
    {ns}_pooled       role     what pooled tenants' units of work run as
    {ns}_t_{slug}     schema   the invoicing tables of one schema tenant
    {ns}_t_{slug}     role     what that tenant's units of work run as

The roles are NOLOGIN: the engine logs in as the migration/owner role and each unit of work
switches to the tenant's role for one transaction at a time.
"""

import logging
import threading

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.exc import IntegrityError

from tenancy import migrate
from tenancy.errors import InvalidName, MigrationFailed, TenantExists, TenantNotFound
from tenancy.migrate import SchemaMigration
from tenancy.models import ControlBase, Placement, Tenant, TenantInfo
from tenancy.naming import check_namespace, check_slug, quoted
from tenancy.unit_of_work import UnitOfWork

log = logging.getLogger("tenancy")

TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"


class Tenancy:
    """One namespace of tenants on one PostgreSQL database."""

    def __init__(self, engine: Engine, namespace: str) -> None:
        self.engine = engine
        self.namespace = check_namespace(namespace)
        self._control = engine.execution_options(schema_translate_map={None: self.control_schema})
        self._binds: dict[str, Engine] = {}
        self._tenants: dict[str, TenantInfo] = {}
        self._lock = threading.Lock()

    # -- names -------------------------------------------------------------------------------

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
        """The schema (and role) name a schema tenant with this slug gets."""
        return f"{self.namespace}_t_{check_slug(slug)}"

    # -- installation and provisioning ----------------------------------------------------

    def install(self) -> None:
        """Create the control schema, the pooled schema and its role; migrate it. Idempotent."""
        with self._control.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted(self.control_schema)}"))
            ControlBase.metadata.create_all(connection)
        with self.engine.begin() as connection:
            connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {quoted(self.pooled_schema)}"))
            if not self._role_exists(connection, self.pooled_role):
                connection.execute(text(f"CREATE ROLE {quoted(self.pooled_role)} NOLOGIN"))
            self._grant_schema(connection, self.pooled_schema, self.pooled_role)
            migrate.migrate_schema(connection, self.pooled_schema)
            self._protect_version_table(connection, self.pooled_schema, self.pooled_role)
        log.info("installed namespace %s", self.namespace)

    def create_tenant(
        self, slug: str, name: str, placement: Placement = Placement.POOLED
    ) -> TenantInfo:
        """Register a tenant; a schema tenant also gets its role and a migrated schema.

        Everything happens in one transaction (PostgreSQL's DDL, CREATE ROLE included, is
        transactional): a failure leaves no registry row, no schema and no role behind.
        """
        check_slug(slug)
        placement = Placement(placement)
        try:
            with self.engine.begin() as connection:
                tenant_id = connection.execute(
                    insert(Tenant)
                    .values(slug=slug, name=name, placement=placement)
                    .returning(Tenant.id),
                    execution_options={"schema_translate_map": {None: self.control_schema}},
                ).scalar_one()
                info = self._info(tenant_id, slug, name, placement)
                if placement is Placement.SCHEMA:
                    connection.execute(text(f"CREATE ROLE {quoted(info.role)} NOLOGIN"))
                    connection.execute(text(f"CREATE SCHEMA {quoted(info.schema)}"))
                    self._grant_schema(connection, info.schema, info.role)
                    migrate.migrate_schema(connection, info.schema)
                    self._protect_version_table(connection, info.schema, info.role)
        except IntegrityError as error:
            if "uq_tenants_slug" in str(error.orig):
                raise TenantExists(f"tenant {slug!r} already exists") from None
            raise
        log.info("created %s tenant %s (id %s)", placement.value, slug, info.id)
        with self._lock:
            self._tenants[slug] = info
        return info

    # -- the registry ----------------------------------------------------------------------

    def get_tenant(self, slug: str) -> TenantInfo:
        """The registered tenant with this slug; TenantNotFound if there is none."""
        try:
            check_slug(slug)
        except InvalidName:
            raise TenantNotFound(f"no tenant {slug!r}") from None
        with self._lock:
            cached = self._tenants.get(slug)
        if cached is not None:
            return cached
        with self._control.connect() as connection:
            row = connection.execute(
                select(Tenant.id, Tenant.slug, Tenant.name, Tenant.placement).where(
                    Tenant.slug == slug
                )
            ).one_or_none()
        if row is None:
            raise TenantNotFound(f"no tenant {slug!r} in namespace {self.namespace}")
        info = self._info(row.id, row.slug, row.name, row.placement)
        with self._lock:
            self._tenants[slug] = info
        return info

    def tenants(self) -> list[TenantInfo]:
        """Every registered tenant, in the order they were created."""
        with self._control.connect() as connection:
            rows = connection.execute(
                select(Tenant.id, Tenant.slug, Tenant.name, Tenant.placement).order_by(Tenant.id)
            ).all()
        return [self._info(row.id, row.slug, row.name, row.placement) for row in rows]

    def data_schemas(self) -> list[str]:
        """The pooled schema first, then each schema tenant's schema in creation order."""
        schemas = [self.pooled_schema]
        schemas += [t.schema for t in self.tenants() if t.placement is Placement.SCHEMA]
        return schemas

    # -- migrations ------------------------------------------------------------------------

    def current_revision(self, schema: str) -> str | None:
        self._check_data_schema(schema)
        with self.engine.connect() as connection:
            return migrate.current_revision(connection, schema)

    def migrate_schema(self, schema: str, revision: str = "head") -> SchemaMigration:
        """Move one data schema to `revision` (up or down) in a transaction of its own."""
        self._check_data_schema(schema)
        with self.engine.begin() as connection:
            return migrate.migrate_schema(connection, schema, revision)

    def upgrade_all(self, revision: str = "head") -> list[SchemaMigration]:
        """Upgrade every data schema, each in its own transaction.

        A schema that fails is rolled back alone and the others still run; afterwards
        MigrationFailed lists every failure. Running it again is safe: a schema already at
        the target is left alone (its entry has from_revision == to_revision).
        """
        results: list[SchemaMigration] = []
        failures: dict[str, BaseException] = {}
        for schema in self.data_schemas():
            try:
                with self.engine.begin() as connection:
                    results.append(migrate.migrate_schema(connection, schema, revision))
            except Exception as error:
                log.error("migration of %s failed: %s", schema, error)
                failures[schema] = error
        if failures:
            raise MigrationFailed(failures)
        return results

    # -- units of work ---------------------------------------------------------------------

    def unit_of_work(self, slug: str) -> UnitOfWork:
        """A unit of work for the tenant; use it as a context manager and call commit()."""
        tenant = self.get_tenant(slug)
        return UnitOfWork(tenant, self._bind_for(tenant.schema))

    # -- helpers -----------------------------------------------------------------------------

    def _info(self, tenant_id: int, slug: str, name: str, placement: Placement) -> TenantInfo:
        if placement is Placement.SCHEMA:
            schema = role = self.schema_for(slug)
        else:
            schema, role = self.pooled_schema, self.pooled_role
        return TenantInfo(tenant_id, slug, name, placement, schema, role)

    def _bind_for(self, schema: str) -> Engine:
        with self._lock:
            bind = self._binds.get(schema)
            if bind is None:
                bind = self.engine.execution_options(schema_translate_map={None: schema})
                self._binds[schema] = bind
            return bind

    def _check_data_schema(self, schema: str) -> None:
        if schema not in self.data_schemas():
            raise InvalidName(f"{schema!r} is not a data schema of namespace {self.namespace}")

    @staticmethod
    def _role_exists(connection: Connection, role: str) -> bool:
        found = connection.execute(
            text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
        return found is not None

    @staticmethod
    def _grant_schema(connection: Connection, schema: str, role: str) -> None:
        """The role may use the schema and every table migrations will create in it."""
        connection.execute(text(f"GRANT USAGE ON SCHEMA {quoted(schema)} TO {quoted(role)}"))
        connection.execute(
            text(
                f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quoted(schema)}"
                f" GRANT {TABLE_PRIVILEGES} ON TABLES TO {quoted(role)}"
            )
        )

    @staticmethod
    def _protect_version_table(connection: Connection, schema: str, role: str) -> None:
        """The default privileges also covered alembic_version; tenants must not touch it."""
        connection.execute(
            text(f"REVOKE ALL ON TABLE {quoted(schema)}.alembic_version FROM {quoted(role)}")
        )
