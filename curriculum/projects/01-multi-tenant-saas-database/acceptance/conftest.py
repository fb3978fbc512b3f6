"""Fixtures of the acceptance suite.

`world` is built once per run: a namespace with two schema tenants (acme, globex) and two
pooled tenants (initech, umbrella), each seeded with the same shape of data. Tests that change
data only add rows named with their tenant's prefix, so they never disturb one another.
`fresh` is a new, empty namespace for tests that install, provision or migrate.
Everything the suite creates starts with `cap1_` and is dropped before and after the run.
"""

import itertools
from collections.abc import Iterator

import pytest
from acceptance_support import NAMESPACE, PLACEMENTS, URL, Seeded, World, drop_namespace, seed
from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import DBAPIError
from tenancy import Tenancy, create_tenancy_engine

namespaces = itertools.count(1)


@pytest.fixture(scope="session")
def admin() -> Iterator[Engine]:
    """The suite's own engine, as the URL's (super)user: setup, inspection and cleanup."""
    # A lock_timeout turns "a transaction was left open" into an error instead of a hang.
    engine = create_engine(URL, connect_args={"options": "-c lock_timeout=10s"})
    drop_namespace(engine)  # what a crashed earlier run left behind
    yield engine
    drop_namespace(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def engine(admin: Engine) -> Iterator[Engine]:
    """Your engine, from create_tenancy_engine."""
    engine = create_tenancy_engine(URL, pool_size=4, max_overflow=0)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def world(admin: Engine, engine: Engine) -> World:
    tenancy = Tenancy(engine, NAMESPACE)
    tenancy.install()
    tenants = [
        tenancy.create_tenant(slug, f"{slug.title()} Inc.", placement)
        for slug, placement in PLACEMENTS.items()
    ]
    seeded: dict[str, Seeded] = {}
    try:
        with admin.begin() as connection:
            for tenant in tenants:
                seeded[tenant.slug] = seed(connection, tenant)
    except DBAPIError as error:
        pytest.fail(
            "the suite could not seed the four tenants with plain INSERTs as the superuser "
            f"({str(error.orig).strip()}). The tables must be as the data model describes; "
            "every tenant's first invoice is INV-0001, so numbers are unique per tenant only."
        )
    return World(tenancy, seeded)


@pytest.fixture
def fresh(admin: Engine, engine: Engine) -> Iterator[Tenancy]:
    """A Tenancy over a namespace of its own, not yet installed."""
    namespace = f"{NAMESPACE}_m{next(namespaces)}"
    drop_namespace(admin, namespace)
    yield Tenancy(engine, namespace)
    drop_namespace(admin, namespace)
