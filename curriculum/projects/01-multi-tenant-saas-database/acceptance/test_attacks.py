"""Attacks: spoofed tenant ids, raw SQL aimed at other tenants, unsafe names, stale pooled
connections, a shared identity map, and four threads in lockstep on four tenants.

The escape hatch is trusted code with a bug in it (a hard-coded schema, a copied id, a missing
WHERE), not a hostile superuser: see "Threat model" in the specification.
"""

import datetime as dt
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from acceptance_support import NAMESPACE, URL, World, q
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, ProgrammingError
from tenancy import (
    CrossTenantWrite,
    Customer,
    InvalidName,
    Invoice,
    InvoiceLine,
    RecordNotFound,
    Tenancy,
    TenantNotFound,
    create_tenancy_engine,
)

PAIRS = [("acme", "globex"), ("initech", "umbrella")]


def names_in_all_schemas(admin: Engine, world: World, name: str) -> list[str]:
    """Where a customer called `name` exists, looked up as the superuser (no filtering)."""
    found = []
    with admin.connect() as connection:
        for schema in world.tenancy.data_schemas():
            count = connection.execute(
                text(f"SELECT count(*) FROM {q(schema)}.customers WHERE name = :n"), {"n": name}
            ).scalar_one()
            found += [schema] * count
    return found


@pytest.mark.parametrize(("slug", "victim"), PAIRS)
def test_a_new_object_carrying_another_tenants_id_is_refused(
    world: World, admin: Engine, slug: str, victim: str
) -> None:
    name = f"{victim}: planted by {slug}"
    with world.tenancy.unit_of_work(slug) as uow, pytest.raises(CrossTenantWrite):
        uow.customers.add(Customer(name=name, tenant_id=world[victim].tenant.id))
        uow.commit()
        pytest.fail(
            f"{slug}'s unit of work accepted a Customer carrying {victim}'s tenant_id: add() (or "
            "the flush) must raise CrossTenantWrite instead of writing it or silently re-stamping"
        )
    assert names_in_all_schemas(admin, world, name) == [], (
        f"a Customer with {victim}'s tenant_id, added in {slug}'s unit of work, was written"
    )


@pytest.mark.parametrize(("slug", "victim"), PAIRS)
def test_moving_an_existing_row_to_another_tenant_is_refused(
    world: World, admin: Engine, slug: str, victim: str
) -> None:
    customer_id = world[slug].customer_ids[1]
    with world.tenancy.unit_of_work(slug) as uow:
        customer = uow.customers.get(customer_id)
        assert customer is not None
        customer.tenant_id = world[victim].tenant.id
        with pytest.raises(CrossTenantWrite):
            uow.commit()
            pytest.fail(
                f"commit() wrote a loaded customer of {slug} whose tenant_id was changed to "
                f"{victim}'s: check new and changed objects before every flush"
            )
    with admin.connect() as connection:
        owner = connection.execute(
            text(f"SELECT tenant_id FROM {q(world[slug].tenant.schema)}.customers WHERE id = :i"),
            {"i": customer_id},
        ).scalar_one()
    assert owner == world[slug].tenant.id, "the row must still belong to its tenant"


def test_an_invoice_cannot_point_at_another_tenants_customer(world: World) -> None:
    initech, umbrella = world["initech"], world["umbrella"]
    stolen = umbrella.customer_ids[0]
    with world.tenancy.unit_of_work("initech") as uow, pytest.raises(RecordNotFound):
        uow.invoices.add(
            Invoice(
                customer_id=stolen,
                number="INV-STOLEN",
                issued_on=dt.date(2025, 4, 1),
                due_on=dt.date(2025, 4, 30),
                lines=[InvoiceLine(description="Consulting", quantity=1, unit_price=Decimal(1))],
            )
        )
        pytest.fail(
            f"initech's invoices.add() accepted umbrella's customer {stolen}: it must raise "
            "RecordNotFound when the customer is not one of the tenant's own"
        )
    # The repository check is the first guard; the composite foreign key is the last one.
    with world.tenancy.unit_of_work("initech") as uow, pytest.raises(IntegrityError):
        uow.execute_sql(
            "INSERT INTO invoices (tenant_id, customer_id, number, issued_on, due_on)"
            " VALUES (:t, :c, 'INV-RAW', DATE '2025-04-01', DATE '2025-04-30')",
            {"t": initech.tenant.id, "c": stolen},
        )
        pytest.fail(
            f"raw SQL inserted an initech invoice for umbrella's customer {stolen}: foreign keys "
            "are checked without row-level security, so only a composite key (tenant_id, "
            "customer_id) -> customers (tenant_id, id) lets the database refuse it"
        )


def test_raw_sql_cannot_write_a_row_for_another_tenant(world: World, admin: Engine) -> None:
    name = "umbrella: planted through raw SQL"
    with (
        world.tenancy.unit_of_work("initech") as uow,
        pytest.raises(ProgrammingError, match="row-level security"),
    ):
        uow.execute_sql(
            "INSERT INTO customers (tenant_id, name) VALUES (:t, :n)",
            {"t": world["umbrella"].tenant.id, "n": name},
        )
        uow.commit()
        pytest.fail(
            "initech inserted a row carrying umbrella's tenant_id through raw SQL: the pooled "
            "tables need a row-level security policy whose WITH CHECK compares tenant_id with "
            "app.tenant_id"
        )
    assert names_in_all_schemas(admin, world, name) == []


@pytest.mark.parametrize(
    ("slug", "target"),
    [
        ("acme", "t_globex"),
        ("acme", "pooled"),
        ("initech", "t_acme"),
        ("initech", "control"),
    ],
)
def test_raw_sql_cannot_reach_another_schema_by_its_qualified_name(
    world: World, slug: str, target: str
) -> None:
    schema = f"{NAMESPACE}_{target}"
    table = "tenants" if target == "control" else "customers"
    with (
        world.tenancy.unit_of_work(slug) as uow,
        pytest.raises(ProgrammingError, match="permission denied"),
    ):
        rows = uow.execute_sql(f"SELECT * FROM {q(schema)}.{table}").all()
        pytest.fail(
            f"{slug} read {len(rows)} rows of {schema}.{table}: a unit of work must run as a "
            "role that has no privileges outside the tenant's own data"
        )


@pytest.mark.parametrize("slug", ["acme", "initech"])
def test_tenants_cannot_touch_the_migration_bookkeeping(world: World, slug: str) -> None:
    with (
        world.tenancy.unit_of_work(slug) as uow,
        pytest.raises(ProgrammingError, match="permission denied"),
    ):
        uow.execute_sql("UPDATE alembic_version SET version_num = '0001'")
        pytest.fail(
            f"{slug}'s unit of work could rewrite its schema's alembic_version: the default "
            "privileges covered that table too, so revoke the role's privileges on it"
        )


def test_names_that_are_not_safe_identifiers_are_rejected_before_any_sql(
    world: World, admin: Engine
) -> None:
    evil = 'evil"; DROP SCHEMA public CASCADE; --'
    before = [t.slug for t in world.tenancy.tenants()]
    for slug in (evil, "Acme-Corp", "9lives", "x" * 31, ""):
        with pytest.raises(InvalidName):
            world.tenancy.create_tenant(slug, "Unsafe Name Inc.")
            pytest.fail(
                f"create_tenant({slug!r}) was accepted: a slug is 1-30 of [a-z0-9_], "
                "starting with a letter, and anything else raises InvalidName"
            )
    assert issubclass(InvalidName, ValueError), "InvalidName is also a ValueError"
    for namespace in ("cap1; DROP ROLE postgres", "Cap1", "n" * 21):
        with pytest.raises(InvalidName):
            Tenancy(world.tenancy.engine, namespace)
            pytest.fail(
                f"Tenancy(engine, {namespace!r}) was accepted: a namespace is 1-20 of "
                "[a-z0-9_], starting with a letter, checked in the constructor"
            )
    for slug in (evil, "nobody"):
        with pytest.raises(TenantNotFound):
            world.tenancy.unit_of_work(slug)
            pytest.fail(f"unit_of_work({slug!r}) must raise TenantNotFound: no such tenant")
    assert [t.slug for t in world.tenancy.tenants()] == before, (
        "refused names must leave the registry as it was"
    )
    with admin.connect() as connection:
        public = connection.execute(text("SELECT to_regnamespace('public')")).scalar_one()
    assert public is not None, "the schema public was dropped: a name reached SQL text unchecked"


def test_a_connection_returned_to_the_pool_carries_no_tenant_state(
    world: World, admin: Engine
) -> None:
    acme = world["acme"].tenant
    with admin.connect() as connection:
        default_path = connection.execute(text("SELECT current_setting('search_path')")).scalar()
    engine = create_tenancy_engine(URL, pool_size=1, max_overflow=0)
    try:
        tenancy = Tenancy(engine, NAMESPACE)
        with engine.connect() as connection:
            pid = connection.execute(text("SELECT pg_backend_pid()")).scalar()

        def state_of_next_checkout() -> tuple[object, ...]:
            with engine.connect() as connection:
                row = connection.execute(
                    text(
                        "SELECT pg_backend_pid(), current_user = session_user,"
                        " current_setting('search_path'),"
                        " coalesce(current_setting('app.tenant_id', true), '')"
                    )
                ).one()
            return tuple(row)

        with tenancy.unit_of_work("acme") as uow:
            uow.execute_sql("SELECT count(*) FROM customers")
            uow.commit()
        after_unit_of_work = state_of_next_checkout()
        assert after_unit_of_work == (pid, True, default_path, ""), (
            "after acme's unit of work the pooled connection still carries its state "
            f"(pid, role is the login user, search_path, app.tenant_id) = {after_unit_of_work}"
        )

        # Someone borrows the engine and sets session-level state, then returns the connection.
        with engine.connect() as connection:
            connection.execute(text(f"SET search_path TO {q(acme.schema)}"))
            connection.execute(text(f"SET ROLE {q(acme.role)}"))
            connection.execute(text(f"SELECT set_config('app.tenant_id', '{acme.id}', false)"))
            connection.commit()
        after_borrow = state_of_next_checkout()
        assert after_borrow == (pid, True, default_path, ""), (
            "a connection went back to the pool still set to acme's search_path, role or "
            f"app.tenant_id: {after_borrow}. Reset session state when a connection is returned."
        )

        with engine.connect() as connection:
            connection.execute(text(f"SET search_path TO {q(acme.schema)}"))
            connection.commit()
        with tenancy.unit_of_work("globex") as uow:
            names = uow.execute_sql("SELECT name FROM customers").scalars().all()
        assert names and all(n.startswith(world["globex"].prefix) for n in names), (
            f"globex's unit of work on a connection last set to acme's schema read {names}"
        )
    finally:
        engine.dispose()


def test_units_of_work_of_two_tenants_never_share_objects(world: World) -> None:
    acme, globex = world["acme"], world["globex"]
    shared_id = acme.customer_ids[0]
    assert globex.customer_ids[0] == shared_id, "precondition: both schemas number from 1"
    with world.tenancy.unit_of_work("acme") as first:
        first_name = getattr(first.customers.get(shared_id), "name", None)
    with world.tenancy.unit_of_work("globex") as second:
        second_name = getattr(second.customers.get(shared_id), "name", None)
    assert first_name == f"{acme.prefix}Road Runner Supplies", (
        f"acme.customers.get({shared_id}) returned {first_name!r}, not acme's first customer"
    )
    assert second_name == f"{globex.prefix}Cypress Creek Ventures", (
        f"globex.customers.get({shared_id}) right after acme's unit of work returned "
        f"{second_name!r}: a session (and its identity map) must never outlive its unit of work"
    )
    with (
        world.tenancy.unit_of_work("acme") as outer,
        world.tenancy.unit_of_work("globex") as inner,
    ):
        from_outer = outer.customers.get(shared_id)
        from_inner = inner.customers.get(shared_id)
        pair = (getattr(from_outer, "name", None), getattr(from_inner, "name", None))
    assert pair == (first_name, second_name), (
        f"two open units of work on one thread returned {pair} for id {shared_id}: each needs a "
        "session of its own (a thread-local scoped_session shares one identity map)"
    )


def test_concurrent_units_of_work_never_see_each_others_rows(world: World) -> None:
    """Four threads, each with a unit of work of a different tenant, in lockstep.

    Barriers fix the interleaving, so the result does not depend on scheduling luck: all four
    units of work are open before any of them sends a statement, and all four have rolled back
    before any of them starts its second transaction. A current tenant kept anywhere but in
    the unit of work and its session (a module global, a class attribute) is then overwritten
    by another thread on every run, not just on unlucky ones.
    """
    slugs = ["acme", "initech", "globex", "umbrella"]
    # Enough connections for every thread to hold one (or two) while the others wait at a
    # barrier: a unit of work may keep its connection from start to end, and pool exhaustion
    # must not be what decides this test.
    engine = create_tenancy_engine(URL, pool_size=len(slugs), max_overflow=len(slugs))
    tenancy = Tenancy(engine, NAMESPACE)
    barrier = threading.Barrier(len(slugs), timeout=60)
    problems: list[str] = []

    def attempt(read: Callable[[], list[str]]) -> list[str]:
        """The names read, or the database error a mixed-up scope causes, as a pseudo-name."""
        try:
            return read()
        except DBAPIError as error:
            return [f"<{type(error.orig).__name__}: {str(error.orig).splitlines()[0]}>"]

    def worker(offset: int) -> None:
        try:
            for step in range(len(slugs)):  # every thread visits every tenant once
                slug = slugs[(offset + step) % len(slugs)]  # four different tenants per step
                with tenancy.unit_of_work(slug) as uow:
                    barrier.wait()  # all four units of work are open
                    orm = attempt(lambda: [customer.name for customer in uow.customers.list()])
                    uow.rollback()  # the next statement begins a second transaction
                    barrier.wait()  # all four first transactions have ended
                    raw = attempt(
                        lambda: list(uow.execute_sql("SELECT name FROM customers").scalars())
                    )
                foreign = [n for n in orm + raw if not n.startswith(world[slug].prefix)]
                if foreign or not orm or not raw:
                    problems.append(f"{slug}'s unit of work saw ORM {orm}, raw SQL {raw}")
                barrier.wait()  # all four blocks are closed before the next step opens
        except threading.BrokenBarrierError:
            raise  # another thread failed first
        except BaseException:
            barrier.abort()  # wake the other threads at once instead of after the timeout
            raise

    try:
        with ThreadPoolExecutor(max_workers=len(slugs)) as pool:
            futures = [pool.submit(worker, offset) for offset in range(len(slugs))]
        errors = [error for future in futures if (error := future.exception()) is not None]
    finally:
        engine.dispose()
    # A thread that failed broke the barrier for the others: report its error, not theirs.
    errors.sort(key=lambda error: isinstance(error, threading.BrokenBarrierError))
    if errors:
        raise errors[0]
    assert not problems, (
        "four threads, each in a unit of work of a different tenant, saw other tenants' rows "
        "(or none of their own). The current tenant must belong to the unit of work and its "
        "session, never to a global, a thread-shared object or the connection:\n"
        + "\n".join(problems[:5])
    )
