"""scoped_session: one Session per thread, what leaks when remove() is skipped, and asyncio.

A worker pool with one thread serves two requests in a row, as a WSGI server's thread does.
Between them, another process raises the tenant's credit limit from 100 to 500.
"""

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine, String, create_engine, exc, select, update
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
    scoped_session,
    sessionmaker,
)
from sqlalchemy.pool import QueuePool

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)


class Base(DeclarativeBase):
    pass


class Tenant(Base):
    __tablename__ = "s5_7_scoped_tenants"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(40))
    credit_limit: Mapped[int]


def checked_out(engine: Engine) -> int:
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    return pool.checkedout()


def same_thread_same_session(registry: scoped_session[Session]) -> None:
    print("1. the registry hands each thread its own Session")
    print(f"   registry() is registry() in one thread: {registry() is registry()}")
    main_session = registry()
    seen: list[Session] = []
    worker = threading.Thread(target=lambda: seen.append(registry()))
    worker.start()
    worker.join()
    print(f"   another thread got the same Session: {seen[0] is main_session}")
    tenant = registry.get(Tenant, 1)  # the registry proxies Session methods to registry()
    print(f"   registry.get(Tenant, 1) ran on this thread's Session: {tenant in main_session}")
    registry.remove()
    print(f"   after remove(), a Session is registered here: {registry.registry.has()}")


def serve_two_requests(engine: Engine, registry: scoped_session[Session], tidy: bool) -> None:
    def create_tenant(request: str) -> None:
        try:
            registry.add(Tenant(id=1, name="acme-duplicate", credit_limit=0))
            registry.flush()
        except exc.IntegrityError as error:
            reason = type(error.orig).__name__
            print(f"   {request}: IntegrityError ({reason}); the view answers 500")
        finally:
            if tidy:
                registry.remove()

    def read_limit(request: str) -> None:
        try:
            limit = registry.scalars(select(Tenant.credit_limit).where(Tenant.id == 1)).one()
            print(f"   {request}: credit_limit={limit}")
        except exc.PendingRollbackError as error:
            print(f"   {request}: PendingRollbackError: {str(error).split(' Original')[0]}")
        finally:
            if tidy:
                registry.remove()

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(create_tenant, "request A").result()
        print(f"   between requests: connections checked out={checked_out(engine)}")
        set_limit(engine, 500)
        pool.submit(read_limit, "request B").result()
        pool.submit(registry.remove).result()  # what teardown should have done each time
    set_limit(engine, 100)


def set_limit(engine: Engine, limit: int) -> None:
    with Session(engine) as other, other.begin():
        other.execute(update(Tenant).where(Tenant.id == 1).values(credit_limit=limit))


async def asyncio_tasks_share_a_thread(registry: scoped_session[Session]) -> None:
    print("4. asyncio: every task runs on the loop's thread, so all get one Session")

    async def task() -> Session:
        await asyncio.sleep(0)
        return registry()

    first, second = await asyncio.gather(task(), task())
    print(f"   two tasks, same Session: {first is second}")
    registry.remove()


def main() -> None:
    engine = create_engine(POSTGRES_URL, pool_size=2, max_overflow=0)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        session.add(Tenant(id=1, name="acme", credit_limit=100))
    factory = sessionmaker(engine)
    registry = scoped_session(factory)  # default scope: threading.local()
    try:
        same_thread_same_session(registry)
        print("2. no remove(): the thread's Session outlives the request")
        serve_two_requests(engine, registry, tidy=False)
        print("3. remove() in a finally block: every request starts clean")
        serve_two_requests(engine, registry, tidy=True)
        asyncio.run(asyncio_tasks_share_a_thread(registry))
    finally:
        registry.remove()
        Base.metadata.drop_all(engine)
        engine.dispose()


if __name__ == "__main__":
    main()
