"""The unit of work and its repositories: commit and rollback semantics, and what a write
stores. Rows are checked afterwards with the suite's own superuser connection.
"""

import datetime as dt
from decimal import Decimal

import pytest
from acceptance_support import World, q
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from tenancy import Customer, Invoice, InvoiceLine, Placement, Tenancy, TenantInfo

BOTH = ["acme", "initech"]  # one schema tenant, one pooled tenant


def stored_customers(admin: Engine, tenant: TenantInfo, name: str) -> list[int]:
    """tenant_id of every row called `name` in the tenant's data schema."""
    with admin.connect() as connection:
        return list(
            connection.scalars(
                text(f"SELECT tenant_id FROM {q(tenant.schema)}.customers WHERE name = :n"),
                {"n": name},
            )
        )


@pytest.mark.parametrize("slug", BOTH)
def test_committed_work_is_visible_to_the_next_unit_of_work(
    world: World, admin: Engine, slug: str
) -> None:
    tenant = world[slug].tenant
    name = f"{slug}: Wile E. Consulting"
    with world.tenancy.unit_of_work(slug) as uow:
        customer = uow.customers.add(Customer(name=name, email="wile@example.test"))
        customer_id = customer.id
        assert customer_id is not None, "add() flushes, so the new row's id is known at once"
        uow.commit()
    with world.tenancy.unit_of_work(slug) as uow:
        again = uow.customers.get(customer_id)
        again_name = None if again is None else again.name
    assert again_name == name, f"a new unit of work must find committed customer {customer_id}"
    assert stored_customers(admin, tenant, name) == [tenant.id], (
        f"the row is stored once, in {tenant.schema}, stamped with tenant_id {tenant.id}"
    )


@pytest.mark.parametrize("slug", BOTH)
def test_leaving_the_block_without_commit_discards_the_work(
    world: World, admin: Engine, slug: str
) -> None:
    name = f"{slug}: Never Committed Ltd"
    with world.tenancy.unit_of_work(slug) as uow:
        uow.customers.add(Customer(name=name))
    assert stored_customers(admin, world[slug].tenant, name) == [], (
        "a unit of work commits only when commit() is called; leaving the block rolls back"
    )


class PaymentDeclined(Exception):
    pass


@pytest.mark.parametrize("slug", BOTH)
def test_an_exception_in_the_block_rolls_back_and_propagates(
    world: World, admin: Engine, slug: str
) -> None:
    name = f"{slug}: Half Written GmbH"
    with pytest.raises(PaymentDeclined), world.tenancy.unit_of_work(slug) as uow:
        uow.customers.add(Customer(name=name))
        raise PaymentDeclined("card declined")
    assert stored_customers(admin, world[slug].tenant, name) == [], (
        "an exception inside the block must roll the unit of work back and then propagate"
    )


@pytest.mark.parametrize("slug", BOTH)
def test_rollback_discards_pending_work_and_the_unit_of_work_carries_on(
    world: World, admin: Engine, slug: str
) -> None:
    tenant = world[slug].tenant
    dropped, kept = f"{slug}: Rolled Back Inc", f"{slug}: Kept After Rollback Inc"
    with world.tenancy.unit_of_work(slug) as uow:
        uow.customers.add(Customer(name=dropped))
        uow.rollback()
        uow.customers.add(Customer(name=kept))
        uow.commit()
    assert stored_customers(admin, tenant, dropped) == [], "rollback() discards what was added"
    assert stored_customers(admin, tenant, kept) == [tenant.id], (
        "after rollback() the same unit of work starts a new transaction, still for its tenant"
    )


@pytest.mark.parametrize("slug", BOTH)
def test_work_after_a_commit_is_still_scoped_to_the_tenant(world: World, slug: str) -> None:
    tenant = world[slug].tenant
    with world.tenancy.unit_of_work(slug) as uow:
        uow.customers.add(Customer(name=f"{slug}: First Transaction AG"))
        uow.commit()
        # A new transaction (maybe on another pooled connection) begins here.
        role = uow.execute_sql("SELECT current_user").scalar_one()
        names = uow.execute_sql("SELECT name FROM customers").scalars().all()
    assert role == tenant.role, (
        f"after commit() the next statement ran as {role!r}, not as {tenant.role!r}: the "
        "tenant scope has to be applied at the start of every transaction, not once"
    )
    foreign = [name for name in names if not name.startswith(world[slug].prefix)]
    assert not foreign, f"after commit() {slug} could read {foreign}"


@pytest.mark.parametrize("slug", BOTH)
def test_an_invoice_is_saved_with_its_lines_stamped_and_totalled(
    world: World, admin: Engine, slug: str
) -> None:
    tenant = world[slug].tenant
    customer_id = world[slug].customer_ids[1]
    with world.tenancy.unit_of_work(slug) as uow:
        invoice = uow.invoices.add(
            Invoice(
                customer_id=customer_id,
                number="INV-0002",
                issued_on=dt.date(2025, 5, 1),
                due_on=dt.date(2025, 5, 31),
                lines=[
                    InvoiceLine(
                        description="Data migration", quantity=3, unit_price=Decimal("150.00")
                    ),
                    InvoiceLine(
                        description="Priority support", quantity=1, unit_price=Decimal("79.99")
                    ),
                ],
            )
        )
        invoice_id, total = invoice.id, invoice.total
        uow.commit()
    with world.tenancy.unit_of_work(slug) as uow:
        listed = [inv.number for inv in uow.invoices.for_customer(customer_id)]
        totals = uow.invoices.totals_by_customer()
    with admin.connect() as connection:
        line_tenants = connection.scalars(
            text(f"SELECT tenant_id FROM {q(tenant.schema)}.invoice_lines WHERE invoice_id = :i"),
            {"i": invoice_id},
        ).all()
    assert total == Decimal("529.99"), f"3 x 150.00 + 1 x 79.99 is 529.99, total gave {total}"
    assert line_tenants == [tenant.id, tenant.id], (
        f"both lines are stored with tenant_id {tenant.id}; the database has {line_tenants}"
    )
    assert listed == ["INV-0002"], f"for_customer({customer_id}) lists the new invoice: {listed}"
    assert totals.get(customer_id) == Decimal("529.99")


def test_an_invoice_number_is_unique_within_a_tenant_only(fresh: Tenancy) -> None:
    fresh.install()
    for slug in ("hooli", "raviga"):  # two pooled tenants: one shared invoices table
        fresh.create_tenant(slug, slug.title(), Placement.POOLED)
        with fresh.unit_of_work(slug) as uow:
            customer = uow.customers.add(Customer(name=f"{slug}: Customer"))
            invoice = Invoice(
                customer_id=customer.id,
                number="INV-0001",
                issued_on=dt.date(2025, 6, 1),
                due_on=dt.date(2025, 6, 30),
            )
            try:
                uow.invoices.add(invoice)
                uow.commit()
            except IntegrityError as error:
                pytest.fail(
                    f"{slug} could not add INV-0001 because another pooled tenant has one "
                    f"({error.orig}): the number is unique per tenant, (tenant_id, number)"
                )
    with fresh.unit_of_work("hooli") as uow:
        (customer,) = uow.customers.list()
        with pytest.raises(IntegrityError):
            uow.invoices.add(
                Invoice(
                    customer_id=customer.id,
                    number="INV-0001",
                    issued_on=dt.date(2025, 7, 1),
                    due_on=dt.date(2025, 7, 31),
                )
            )
            pytest.fail(
                "hooli could add a second INV-0001: invoice numbers are unique per tenant, "
                "(tenant_id, number), and add() flushes, so the IntegrityError comes from it"
            )
