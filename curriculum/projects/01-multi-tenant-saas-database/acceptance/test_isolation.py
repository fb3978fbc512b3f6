"""Isolation: through every read path, a tenant sees its own rows and nothing else.

acme and globex are schema tenants, initech and umbrella pooled tenants; each test runs for
the placements where its guarantee applies.
"""

import pytest
from acceptance_support import OWNER_EMAIL, World, q
from sqlalchemy import Engine, text
from tenancy import Placement

ALL = ["acme", "globex", "initech", "umbrella"]


@pytest.mark.parametrize("slug", ALL)
def test_a_tenant_lists_only_its_own_customers(world: World, slug: str) -> None:
    seeded = world[slug]
    with world.tenancy.unit_of_work(slug) as uow:
        customers = uow.customers.list()
        names = [customer.name for customer in customers]
        tenant_ids = {customer.tenant_id for customer in customers}
    foreign = [name for name in names if not name.startswith(seeded.prefix)]
    assert not foreign, f"tenant {slug} was shown other tenants' customers: {foreign}"
    assert tenant_ids == {seeded.tenant.id}, (
        f"every customer of {slug} carries tenant_id {seeded.tenant.id}, got {tenant_ids}"
    )
    assert len(names) >= 2, f"{slug}'s two seeded customers are missing from list(): {names}"


@pytest.mark.parametrize(("slug", "other"), [("acme", "globex"), ("initech", "umbrella")])
def test_get_by_id_never_returns_another_tenants_row(world: World, slug: str, other: str) -> None:
    foreign_id = world[other].customer_ids[1]
    with world.tenancy.unit_of_work(slug) as uow:
        found = uow.customers.get(foreign_id)
        found_name = None if found is None else found.name
    if world[slug].tenant.placement == Placement.POOLED:
        assert found is None, (
            f"{slug}.customers.get({foreign_id}) returned {other}'s customer {found_name!r}: "
            "a pooled tenant must not reach another tenant's row even by guessing its id"
        )
    else:
        # Schema tenants number their rows independently, so the same id exists in both
        # schemas; get() must resolve it in the tenant's own schema.
        assert found_name is not None and found_name.startswith(world[slug].prefix), (
            f"{slug}.customers.get({foreign_id}) returned {found_name!r}, not {slug}'s own row"
        )


@pytest.mark.parametrize("slug", ALL)
def test_invoices_lines_totals_and_users_stay_inside_the_tenant(world: World, slug: str) -> None:
    seeded = world[slug]
    with world.tenancy.unit_of_work(slug) as uow:
        invoices = uow.invoices.list()
        invoice_tenants = {invoice.tenant_id for invoice in invoices}
        lines = [(line.tenant_id, line.description) for inv in invoices for line in inv.lines]
        invoice = uow.invoices.get(seeded.invoice_id)
        total = None if invoice is None else invoice.total
        totals = uow.invoices.totals_by_customer()
        owner = uow.users.by_email(OWNER_EMAIL)
        owner_name = None if owner is None else owner.full_name
    assert invoice_tenants == {seeded.tenant.id}, (
        f"{slug}.invoices.list() returned invoices of other tenants"
    )
    assert lines and {tenant_id for tenant_id, _ in lines} == {seeded.tenant.id}, (
        f"the lines of {slug}'s invoices must all be {slug}'s: {lines}"
    )
    assert total == seeded.total, f"invoice {seeded.invoice_id} of {slug} totals {seeded.total}"
    assert totals.get(seeded.customer_ids[0]) == seeded.total, (
        f"totals_by_customer() of {slug} must be {{{seeded.customer_ids[0]}: {seeded.total}}} "
        f"plus {slug}'s own later invoices, got {totals}"
    )
    if seeded.tenant.placement == Placement.POOLED:
        others = set(totals) - set(seeded.customer_ids)
        foreign = {
            s: w.customer_ids for s, w in world.tenants.items() if set(w.customer_ids) & others
        }
        assert not foreign, f"totals_by_customer() of {slug} summed other tenants: {foreign}"
    assert owner_name == f"{slug.title()} Owner", (
        f"users.by_email({OWNER_EMAIL!r}) must find {slug}'s own owner (every tenant has a user "
        f"with that address), got {owner_name!r}"
    )


@pytest.mark.parametrize("slug", ALL)
def test_raw_sql_through_the_escape_hatch_sees_only_the_tenants_rows(
    world: World, slug: str
) -> None:
    seeded = world[slug]
    with world.tenancy.unit_of_work(slug) as uow:
        rows = uow.execute_sql("SELECT tenant_id, name FROM customers").all()
        updated = uow.execute_sql("UPDATE customers SET email = NULL").rowcount
        # not committed: leaving the block rolls the UPDATE back
    foreign = [row.name for row in rows if row.tenant_id != seeded.tenant.id]
    assert rows and not foreign, (
        f"an unqualified SELECT with no WHERE clause, run for {slug}, returned other tenants' "
        f"rows {foreign}: the search_path and row-level security must do the filtering"
    )
    assert updated == len(rows), (
        f"an UPDATE with no WHERE clause run for {slug} touched {updated} rows, but {slug} has "
        f"{len(rows)}: it reached other tenants' rows"
    )


@pytest.mark.parametrize("slug", ["initech", "umbrella"])
def test_the_orm_filter_holds_even_with_row_level_security_switched_off(
    world: World, admin: Engine, slug: str
) -> None:
    pooled = q(world.tenancy.pooled_schema)
    other = "umbrella" if slug == "initech" else "initech"
    foreign_id = world[other].customer_ids[0]
    with admin.begin() as connection:
        # only the tables that have it on, so that the finally block restores exactly this
        tables = connection.scalars(
            text(
                "SELECT relname FROM pg_class"
                " WHERE relnamespace = to_regnamespace(:s) AND relkind = 'r' AND relrowsecurity"
            ),
            {"s": world.tenancy.pooled_schema},
        ).all()
        for table in tables:
            connection.execute(text(f"ALTER TABLE {pooled}.{q(table)} DISABLE ROW LEVEL SECURITY"))
    try:
        with world.tenancy.unit_of_work(slug) as uow:
            customers = uow.customers.list()
            names = [customer.name for customer in customers]
            own_ids = {customer.id for customer in customers}
            fetched = uow.customers.get(foreign_id)
            fetched_name = None if fetched is None else fetched.name
            invoice_tenants = {invoice.tenant_id for invoice in uow.invoices.list()}
            totalled = set(uow.invoices.totals_by_customer())
            owner = uow.users.by_email(OWNER_EMAIL)  # one per tenant: more than one raises
            owner_tenant = None if owner is None else owner.tenant_id
    finally:
        with admin.begin() as connection:
            for table in tables:
                connection.execute(
                    text(f"ALTER TABLE {pooled}.{q(table)} ENABLE ROW LEVEL SECURITY")
                )
    foreign = [name for name in names if not name.startswith(world[slug].prefix)]
    assert not foreign, (
        f"with row-level security off, {slug}'s repository returned {foreign}: the ORM layer "
        "must add tenant_id = :id to every query on its own (defence in depth)"
    )
    assert fetched_name is None, (
        f"with row-level security off, {slug}.customers.get({foreign_id}) returned {other}'s "
        f"{fetched_name!r}: Session.get() runs through do_orm_execute as well, so the criteria "
        "must reach it too"
    )
    assert invoice_tenants == {world[slug].tenant.id}, (
        f"with row-level security off, {slug}.invoices.list() returned invoices of tenants "
        f"{sorted(invoice_tenants - {world[slug].tenant.id})}"
    )
    assert totalled <= own_ids, (
        f"with row-level security off, totals_by_customer() of {slug} summed customers "
        f"{sorted(totalled - own_ids)} of other tenants: aggregates need the criteria too"
    )
    assert owner_tenant == world[slug].tenant.id, (
        f"with row-level security off, users.by_email() of {slug} returned a user of tenant "
        f"{owner_tenant}"
    )
