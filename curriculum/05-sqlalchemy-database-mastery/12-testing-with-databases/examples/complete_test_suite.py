"""A complete database test suite for an order service, in one file, plus its CI workflow.

In a repository the three marked parts are shop/orders.py, tests/conftest.py (fixtures and
factories) and tests/test_orders.py. Run directly, this file checks ci_workflow.yml beside it
and then runs itself with pytest against PostgreSQL.
"""
# mypy: untyped-calls-exclude=factory

import os
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from factory.alchemy import SQLAlchemyModelFactory
from factory.declarations import Sequence
from sqlalchemy import (
    CheckConstraint,
    Engine,
    ForeignKey,
    Numeric,
    String,
    create_engine,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


# === shop/orders.py: the code under test ================================================
class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "s5_12_cs_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True)


class Product(Base):
    __tablename__ = "s5_12_cs_products"
    __table_args__ = (CheckConstraint("stock >= 0", name="ck_s5_12_cs_products_stock"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(20), unique=True)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    stock: Mapped[int]


class Order(Base):
    __tablename__ = "s5_12_cs_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey(Customer.id))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))


class OrderError(Exception):
    pass


def place_order(session: Session, customer_id: int, items: dict[str, int]) -> Order:
    """Take stock under row locks, record the order, commit; all or nothing."""
    try:
        query = select(Product).where(Product.sku.in_(items)).order_by(Product.id)
        products = {p.sku: p for p in session.scalars(query.with_for_update())}
        if missing := sorted(set(items) - set(products)):
            raise OrderError(f"unknown products: {', '.join(missing)}")
        total = Decimal("0.00")
        for sku, quantity in items.items():
            product = products[sku]
            if product.stock < quantity:
                raise OrderError(f"only {product.stock} of {sku} left")
            product.stock -= quantity
            total += product.price * quantity
        order = Order(customer_id=customer_id, total=total)
        session.add(order)
        session.commit()
        return order
    except Exception:
        session.rollback()
        raise


# === tests/conftest.py: schema once, a rolled-back transaction per test, factories =======
@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    engine = create_engine(POSTGRES_URL)
    Base.metadata.drop_all(engine)  # a crashed earlier run may have left tables behind
    Base.metadata.create_all(engine)
    yield engine
    Base.metadata.drop_all(engine)
    engine.dispose()


class CurrentTest:
    session: Session | None = None


def current_session() -> Session:
    if CurrentTest.session is None:
        raise RuntimeError("a factory ran outside a test that uses the `session` fixture")
    return CurrentTest.session


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        CurrentTest.session = session
        yield session
        CurrentTest.session = None
        session.close()
        outer.rollback()


@pytest.fixture
def committed(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """For the few tests that need several connections: real commits, truncated afterwards."""
    yield sessionmaker(engine)
    tables = ", ".join(table.name for table in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


class CustomerFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Customer
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "commit"  # setup data survives the code's rollback

    email = Sequence(lambda n: f"buyer{n}@example.com")


class ProductFactory(SQLAlchemyModelFactory):
    class Meta:
        model = Product
        sqlalchemy_session_factory = current_session
        sqlalchemy_session_persistence = "commit"

    sku = Sequence(lambda n: f"SKU-{n:04d}")
    price = Decimal("10.00")
    stock = 5


def new_customer(**overrides: Any) -> Customer:
    customer: Customer = CustomerFactory.create(**overrides)
    return customer


def new_product(**overrides: Any) -> Product:
    product: Product = ProductFactory.create(**overrides)
    return product


# === tests/test_orders.py =================================================================
def test_an_order_takes_stock_and_totals_its_lines(session: Session) -> None:
    buyer = new_customer()
    mug, tea = new_product(sku="MUG", price=Decimal("12.50")), new_product(sku="TEA", stock=9)
    order = place_order(session, buyer.id, {"MUG": 2, "TEA": 3})
    assert order.total == Decimal("55.00")
    assert (mug.stock, tea.stock) == (3, 6)


def test_an_order_larger_than_the_stock_changes_nothing(session: Session) -> None:
    buyer, mug = new_customer(), new_product(sku="MUG", stock=1)
    with pytest.raises(OrderError, match="only 1 of MUG left"):
        place_order(session, buyer.id, {"MUG": 2})
    session.refresh(mug)
    assert mug.stock == 1
    assert session.scalar(select(func.count()).select_from(Order)) == 0


def test_an_unknown_sku_is_refused_by_name(session: Session) -> None:
    buyer = new_customer()
    new_product(sku="MUG")
    with pytest.raises(OrderError, match="unknown products: GHOST"):
        place_order(session, buyer.id, {"MUG": 1, "GHOST": 1})


def test_the_database_itself_refuses_negative_stock(session: Session) -> None:
    mug = new_product(stock=0)
    mug.stock = -1
    with pytest.raises(IntegrityError, match="ck_s5_12_cs_products_stock"):
        session.flush()


@pytest.mark.parametrize("run", ["first", "second"])
def test_every_test_starts_from_empty_tables(session: Session, run: str) -> None:
    assert session.scalar(select(func.count()).select_from(Customer)) == 0
    new_customer(email="same@example.com")  # would collide if the other run had leaked


def test_a_second_buyer_cannot_take_locked_stock(committed: sessionmaker[Session]) -> None:
    with committed.begin() as setup:
        setup.add(Product(sku="LAST", price=Decimal("99.00"), stock=1))
    with committed() as first, committed() as second:
        first.scalars(select(Product).where(Product.sku == "LAST").with_for_update()).one()
        no_wait = select(Product).where(Product.sku == "LAST").with_for_update(nowait=True)
        with pytest.raises(DBAPIError, match="could not obtain lock"):
            second.scalars(no_wait).one()


# === running it: check the CI workflow, then run the suite ================================
def check_ci_workflow(path: Path) -> None:
    """Parse the workflow and check what this suite depends on; nothing here runs it."""
    source = path.read_text()
    print(f"--- {path.name}", *(f"    {line}".rstrip() for line in source.splitlines()), sep="\n")
    workflow: dict[Any, Any] = yaml.safe_load(source)
    print(f"{path.name}: parsed with PyYAML (checked here, not executed by GitHub Actions)")
    triggers: dict[str, Any] = workflow["on" if "on" in workflow else True]  # YAML 1.1
    print(f"  triggers: {sorted(triggers)} (the `on` key loads as {list(workflow)[1]!r})")
    job = workflow["jobs"]["test"]
    service = job["services"]["postgres"]
    url = urlsplit(job["env"]["PYMASTERY_POSTGRES_URL"])
    credentials = [service["env"][f"POSTGRES_{key}"] for key in ("USER", "PASSWORD", "DB")]
    in_url = [url.username, url.password, url.path.lstrip("/")]
    versions = [step.get("with", {}).get("python-version", "") for step in job["steps"]]
    checks = {
        "postgres service runs version 15, like production": service["image"] == "postgres:15",
        "service has a health check, so steps wait for it": "--health-cmd" in service["options"],
        "URL user, password, database match the service": in_url == credentials,
        "URL port is published by the service": f"{url.port}:5432" in service["ports"],
        "python-version is a string (3.10 unquoted is 3.1)": all(type(v) is str for v in versions),
    }
    runs = [step.get("run", "") for step in job["steps"]]
    migrate = next(i for i, run in enumerate(runs) if "alembic upgrade head" in run)
    tests = next(i for i, run in enumerate(runs) if "pytest" in run)
    checks["migrations run before the tests"] = migrate < tests
    checks["alembic check fails the build on model drift"] = "alembic check" in runs[migrate]
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")


PYTEST_INI = """\
[pytest]
addopts = --strict-markers
filterwarnings = error
xfail_strict = true
"""


def run_this_file_with_pytest() -> None:
    sys.dont_write_bytecode = True  # keep pytest's rewritten .pyc out of the examples folder
    os.environ["COLUMNS"] = "80"  # pytest pads its lines to the terminal width
    with tempfile.TemporaryDirectory(prefix="s5_12_") as folder:
        ini = Path(folder) / "pytest.ini"
        ini.write_text(PYTEST_INI)
        arguments = ["-v", "--no-header", "-p", "no:cacheprovider", "--disable-plugin-autoload"]
        here = str(Path(__file__).parent)
        code = pytest.main([__file__, *arguments, "-c", str(ini), "--rootdir", here])
    print(f"pytest exit code: {int(code)}")


if __name__ == "__main__":
    check_ci_workflow(Path(__file__).with_name("ci_workflow.yml"))
    run_this_file_with_pytest()
