"""Installation, provisioning and migrations, each test in a namespace of its own.

Revisions are fixed by the specification: 0001 creates the tables, 0002 expands invoices with
due_on (backfilled from payment_terms_days), 0003 contracts (due_on NOT NULL, terms dropped).
"""

import datetime as dt

import pytest
from acceptance_support import HEAD, q, revision_of
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from tenancy import (
    Base,
    Customer,
    InvalidName,
    MigrationFailed,
    Placement,
    Tenancy,
    TenancyError,
    TenantExists,
)


def columns_of(admin: Engine, schema: str, table: str) -> dict[str, str]:
    """column name -> is_nullable ('YES'/'NO') from information_schema."""
    with admin.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT column_name, is_nullable FROM information_schema.columns"
                " WHERE table_schema = :s AND table_name = :t"
            ),
            {"s": schema, "t": table},
        ).all()
    return dict(rows)


def test_install_is_idempotent_and_leaves_the_pooled_schema_at_head(
    fresh: Tenancy, admin: Engine
) -> None:
    fresh.install()
    fresh.install()  # a second deploy runs it again
    namespace = fresh.namespace
    assert (fresh.control_schema, fresh.pooled_schema, fresh.pooled_role) == (
        f"{namespace}_control",
        f"{namespace}_pooled",
        f"{namespace}_pooled",
    ), "the specification fixes the control schema, pooled schema and pooled role names"
    assert revision_of(admin, fresh.pooled_schema) == HEAD, (
        f"install() migrates the pooled schema to {HEAD}, recorded in its own alembic_version"
    )
    with admin.connect() as connection:
        role = connection.execute(
            text("SELECT rolcanlogin, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
            {"r": fresh.pooled_role},
        ).one_or_none()
        secured = (
            connection.execute(
                text(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = :s AND c.relkind = 'r' AND c.relrowsecurity"
                    " ORDER BY c.relname"
                ),
                {"s": fresh.pooled_schema},
            )
            .scalars()
            .all()
        )
        forced = connection.scalars(
            text(
                "SELECT relname FROM pg_class"
                " WHERE relnamespace = to_regnamespace(:s) AND relforcerowsecurity"
            ),
            {"s": fresh.pooled_schema},
        ).all()
        policies = connection.scalars(
            text(
                "SELECT tablename FROM pg_policies"
                " WHERE schemaname = :s AND policyname = 'tenant_isolation' ORDER BY tablename"
            ),
            {"s": fresh.pooled_schema},
        ).all()
    assert role is not None and tuple(role) == (False, False, False), (
        f"{fresh.pooled_role} must exist as a plain NOLOGIN role (no superuser, no BYPASSRLS)"
    )
    assert secured == ["customers", "invoice_lines", "invoices", "users"], (
        f"row-level security must be enabled on every tenant table; enabled on {secured}"
    )
    assert policies == secured, (
        f"every tenant table needs its policy tenant_isolation; found it on {policies}"
    )
    assert forced == [], (
        f"row-level security is enabled, not forced ({forced} are forced): the owner that "
        "migrates must see every row, and tenant roles are not owners"
    )
    assert fresh.tenants() == [], "a namespace just installed has no tenants"


def test_a_new_schema_tenant_gets_its_own_schema_and_role_at_head(
    fresh: Tenancy, admin: Engine
) -> None:
    fresh.install()
    tenant = fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    pooled = fresh.create_tenant("pied_piper", "Pied Piper", Placement.POOLED)
    expected = f"{fresh.namespace}_t_hooli"
    assert (tenant.schema, tenant.role) == (expected, expected), (
        f"a schema tenant's schema and role are both {{ns}}_t_{{slug}}: {expected}"
    )
    assert (pooled.schema, pooled.role) == (fresh.pooled_schema, fresh.pooled_role), (
        "a pooled tenant's TenantInfo names the pooled schema and the pooled role"
    )
    assert fresh.schema_for("hooli") == expected
    assert revision_of(admin, expected) == HEAD, f"a new tenant schema is migrated to {HEAD}"
    columns = set(columns_of(admin, expected, "invoices"))
    assert columns == {"id", "tenant_id", "customer_id", "number", "issued_on", "due_on"}, (
        f"{expected}.invoices at {HEAD} has the columns of the data model, got {sorted(columns)}"
    )
    slugs = [t.slug for t in fresh.tenants()]
    assert slugs == ["hooli", "pied_piper"], f"tenants() lists in creation order: {slugs}"
    assert fresh.get_tenant("hooli") == tenant, "get_tenant() returns what create_tenant() did"
    assert fresh.data_schemas() == [fresh.pooled_schema, expected], (
        "data_schemas() is the pooled schema, then the schema tenants' schemas"
    )
    with fresh.unit_of_work("hooli") as uow:
        rows = list(uow.customers.list())
    assert rows == [], f"a new tenant starts with no rows, hooli has {len(rows)} customers"


@pytest.mark.parametrize("placement", [Placement.SCHEMA, Placement.POOLED])
def test_provisioning_a_taken_slug_changes_nothing(
    fresh: Tenancy, admin: Engine, placement: Placement
) -> None:
    fresh.install()
    first = fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    with pytest.raises(TenantExists):
        fresh.create_tenant("hooli", "Hooli Again", placement)
    assert fresh.tenants() == [first], "a refused provisioning leaves no registry row behind"
    with admin.connect() as connection:
        schemas = connection.scalars(
            text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"),
            {"p": f"{fresh.namespace}_t_"},
        ).all()
    assert schemas == [first.schema]


def test_a_failed_provisioning_leaves_nothing_behind(fresh: Tenancy, admin: Engine) -> None:
    fresh.install()
    doomed = fresh.schema_for("doomed")
    hooks = f"{fresh.namespace}_hooks"
    # An event trigger (database-wide, so dropped in `finally`) makes revision 0001 fail in
    # the new schema halfway through: after the registry row, the role, the schema and the
    # first tables were created.
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {q(hooks)}"))
        connection.execute(
            text(
                f"CREATE FUNCTION {q(hooks)}.sabotage() RETURNS event_trigger"
                " LANGUAGE plpgsql AS $$ BEGIN"
                "  IF EXISTS (SELECT FROM pg_event_trigger_ddl_commands()"
                f"   WHERE schema_name = '{doomed}' AND command_tag = 'CREATE TABLE'"
                "    AND object_identity LIKE '%.invoice_lines')"
                "  THEN RAISE EXCEPTION 'provisioning sabotaged by the acceptance suite';"
                "  END IF; END $$"
            )
        )
        connection.execute(
            text(
                f"CREATE EVENT TRIGGER {q(hooks)} ON ddl_command_end"
                f" EXECUTE FUNCTION {q(hooks)}.sabotage()"
            )
        )
    try:
        with pytest.raises((DBAPIError, TenancyError)):
            fresh.create_tenant("doomed", "Doomed Ltd", Placement.SCHEMA)
            pytest.fail("the suite made CREATE TABLE invoice_lines fail, yet provisioning passed")
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP EVENT TRIGGER IF EXISTS {q(hooks)}"))
    with admin.connect() as connection:
        leftovers = connection.scalars(
            text(
                "SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname = :n"
                " UNION ALL SELECT 'role ' || rolname FROM pg_roles WHERE rolname = :n"
            ),
            {"n": doomed},
        ).all()
    registered = [t.slug for t in fresh.tenants()]
    assert registered == [] and leftovers == [], (
        f"a provisioning that failed halfway left {registered} in the registry and "
        f"{leftovers} in the database: the registry row, role, schema, grants and migrations "
        "belong in one transaction"
    )
    retried = fresh.create_tenant("doomed", "Doomed Ltd", Placement.SCHEMA)  # the fault is gone
    assert revision_of(admin, retried.schema) == HEAD, "provisioning again after a failure works"


def test_one_schema_goes_down_to_base_and_back_up(fresh: Tenancy, admin: Engine) -> None:
    fresh.install()
    hooli = fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    with pytest.raises(InvalidName):
        fresh.migrate_schema("public")
        pytest.fail("migrate_schema() only accepts one of data_schemas(): it migrated public")
    down = fresh.migrate_schema(hooli.schema, "base")
    assert (down.from_revision, down.to_revision, down.changed) == (HEAD, None, True), (
        f"migrate_schema(schema, 'base') reports ({HEAD!r}, None, changed), got {down}"
    )
    assert fresh.current_revision(hooli.schema) is None
    with admin.connect() as connection:
        tables = connection.scalars(
            text(
                "SELECT tablename FROM pg_tables"
                " WHERE schemaname = :s AND tablename <> 'alembic_version'"
            ),
            {"s": hooli.schema},
        ).all()
    assert tables == [], f"0001's downgrade drops the tables it created; {tables} remain"
    assert revision_of(admin, fresh.pooled_schema) == HEAD, "other schemas are not touched"
    up = fresh.migrate_schema(hooli.schema)
    assert (up.from_revision, up.to_revision) == (None, HEAD)
    assert fresh.current_revision(hooli.schema) == HEAD
    with fresh.unit_of_work("hooli") as uow:
        uow.customers.add(Customer(name="hooli: After The Round Trip"))
        uow.commit()
    with fresh.unit_of_work("hooli") as uow:
        names = [customer.name for customer in uow.customers.list()]
    assert names == ["hooli: After The Round Trip"], (
        "tables re-created by a later migration must be usable by the tenant's role (the "
        f"default privileges cover them): {names}"
    )


def test_models_and_migrations_agree_in_every_data_schema(fresh: Tenancy, admin: Engine) -> None:
    fresh.install()
    fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    for schema in fresh.data_schemas():
        with admin.begin() as connection:
            connection.execute(text("SELECT set_config('search_path', :p, true)"), {"p": q(schema)})
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
        assert differences == [], (
            f"at {HEAD}, {schema} differs from the models (what autogenerate would emit): "
            f"{differences}"
        )


def test_upgrade_all_is_idempotent(fresh: Tenancy) -> None:
    fresh.install()
    fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    fresh.create_tenant("raviga", "Raviga Capital", Placement.SCHEMA)
    fresh.create_tenant("bachmanity", "Bachmanity", Placement.POOLED)
    first = fresh.upgrade_all()
    second = fresh.upgrade_all()
    for report in (first, second):
        seen = [(m.schema, m.from_revision, m.to_revision) for m in report]
        assert seen == [(schema, HEAD, HEAD) for schema in fresh.data_schemas()], (
            "every data schema (pooled first, then schema tenants in creation order) is "
            f"reported, and one already at {HEAD} is left there: {seen}"
        )


def test_upgrade_all_brings_old_schemas_to_head_and_keeps_their_data(
    fresh: Tenancy, admin: Engine
) -> None:
    fresh.install()
    hooli = fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    piper = fresh.create_tenant("pied_piper", "Pied Piper", Placement.POOLED)
    for schema in fresh.data_schemas():
        down = fresh.migrate_schema(schema, "0001")
        assert (down.from_revision, down.to_revision) == (HEAD, "0001")
        assert "payment_terms_days" in columns_of(admin, schema, "invoices")
        assert "due_on" not in columns_of(admin, schema, "invoices"), "0002's downgrade drops it"
    # Rows written by the old code: payment terms, no due date.
    with admin.begin() as connection:
        for tenant, terms in ((hooli, 14), (piper, 45)):
            schema = q(tenant.schema)
            customer = connection.execute(
                text(
                    f"INSERT INTO {schema}.customers (tenant_id, name) VALUES (:t, 'Old')"
                    " RETURNING id"
                ),
                {"t": tenant.id},
            ).scalar_one()
            connection.execute(
                text(
                    f"INSERT INTO {schema}.invoices"
                    " (tenant_id, customer_id, number, issued_on, payment_terms_days)"
                    " VALUES (:t, :c, 'OLD-1', DATE '2025-02-20', :d)"
                ),
                {"t": tenant.id, "c": customer, "d": terms},
            )
    report = fresh.upgrade_all()
    assert [(m.schema, m.from_revision, m.to_revision) for m in report] == [
        (fresh.pooled_schema, "0001", HEAD),
        (hooli.schema, "0001", HEAD),
    ]
    for tenant, due in ((hooli, dt.date(2025, 3, 6)), (piper, dt.date(2025, 4, 6))):
        assert columns_of(admin, tenant.schema, "invoices")["due_on"] == "NO"
        assert "payment_terms_days" not in columns_of(admin, tenant.schema, "invoices")
        with fresh.unit_of_work(tenant.slug) as uow:
            due_dates = [invoice.due_on for invoice in uow.invoices.list()]
        assert due_dates == [due], (
            f"an invoice issued 2025-02-20 with its terms must be due on {due} after the "
            f"expand-contract migration; {tenant.slug} has {due_dates}"
        )


def test_a_failing_schema_is_rolled_back_alone_and_the_others_still_upgrade(
    fresh: Tenancy, admin: Engine
) -> None:
    fresh.install()
    broken = fresh.create_tenant("hooli", "Hooli XYZ", Placement.SCHEMA)
    healthy = fresh.create_tenant("raviga", "Raviga Capital", Placement.SCHEMA)
    for schema in (broken.schema, healthy.schema):
        fresh.migrate_schema(schema, "0001")
    # Someone hot-fixed one tenant by hand: 0002 will fail there on the existing column.
    with admin.begin() as connection:
        connection.execute(text(f"ALTER TABLE {q(broken.schema)}.invoices ADD COLUMN due_on text"))
    with pytest.raises(MigrationFailed) as failed:
        fresh.upgrade_all()
    assert set(failed.value.failures) == {broken.schema}, (
        f"MigrationFailed.failures names only the failing schema: {failed.value.failures}"
    )
    assert revision_of(admin, broken.schema) == "0001", "the failing schema stays at 0001"
    with admin.connect() as connection:
        due_type = connection.execute(
            text(
                "SELECT data_type FROM information_schema.columns"
                " WHERE table_schema = :s AND table_name = 'invoices' AND column_name = 'due_on'"
            ),
            {"s": broken.schema},
        ).scalar_one()
    assert due_type == "text", "nothing of the failed migration may remain (one transaction)"
    assert revision_of(admin, healthy.schema) == HEAD, (
        "a schema after the failing one must still be upgraded"
    )
    assert revision_of(admin, fresh.pooled_schema) == HEAD
