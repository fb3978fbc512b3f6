"""QueuePool at its limits: overflow, checkout timeout, a server-side kill, pre-ping, checkout cost.

A second engine without pooling watches pg_stat_activity, so every count below is what
PostgreSQL itself reports, not what the pool believes.
"""

import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, TimeoutError
from sqlalchemy.pool import NullPool

DATABASE_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
log = logging.getLogger("pool")
admin = create_engine(DATABASE_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def app_engine(app: str, **pool_options: object) -> Engine:
    engine = create_engine(DATABASE_URL, connect_args={"application_name": app}, **pool_options)
    event.listen(engine, "connect", lambda dbapi_conn, record: log.info("  [new connection]"))
    return engine


def server_side(app: str, kill: bool = False) -> int:
    """Count (or terminate) this app's backends, as PostgreSQL sees them."""
    action = "pg_terminate_backend(pid)" if kill else "pid"
    query = text(f"SELECT {action} FROM pg_stat_activity WHERE application_name = :app")
    with admin.connect() as conn:
        return len(conn.execute(query, {"app": app}).all())


def kill_and_wait(app: str) -> None:
    log.info("server terminates %s's idle connections: %d", app, server_side(app, kill=True))
    while server_side(app):
        time.sleep(0.01)


def select_one(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def median_ms(work: dict[str, tuple[Callable[[], object], int]]) -> dict[str, float]:
    """Median ms per call over 7 batches, interleaved so every label shares the machine's noise."""
    batches: dict[str, list[float]] = {label: [] for label in work}
    for _ in range(7):
        for label, (call, rounds) in work.items():
            started = time.perf_counter()
            for _ in range(rounds):
                call()
            batches[label].append((time.perf_counter() - started) * 1000 / rounds)
    return {label: statistics.median(values) for label, values in batches.items()}


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    engine = app_engine("s5_2_pool", pool_size=2, max_overflow=1, pool_timeout=0.5)
    with ExitStack() as held:
        for _ in range(3):
            held.enter_context(engine.connect()).execute(text("SELECT 1"))
        log.info("3 checked out -> %s", engine.pool.status())
        started = time.perf_counter()
        try:
            engine.connect()
        except TimeoutError as exc:
            waited = time.perf_counter() - started
            log.error("4th checkout after %.1f s: %s", waited, str(exc).split(" (Background")[0])
    log.info(
        "all returned -> server sees %d connections (overflow closed)", server_side("s5_2_pool")
    )

    kill_and_wait("s5_2_pool")
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            log.info("attempt %d: ok", attempt)
        except OperationalError as exc:
            log.error(
                "attempt %d: %s, invalidated=%s", attempt, exc.orig, exc.connection_invalidated
            )

    pinged = app_engine("s5_2_pool_ping", pool_size=2, pool_pre_ping=True)
    with pinged.connect() as conn:
        conn.execute(text("SELECT 1"))
    kill_and_wait("s5_2_pool_ping")
    with pinged.connect() as conn:
        log.info("with pool_pre_ping: SELECT 1 -> %s", conn.execute(text("SELECT 1")).scalar())

    logging.getLogger("pool").setLevel(logging.WARNING)  # silence [new connection] while timing
    unpooled = app_engine("s5_2_pool_none", poolclass=NullPool)
    with pinged.connect() as conn:
        driver_conn = conn.connection.dbapi_connection
        assert driver_conn is not None
        timings = median_ms(
            {
                "pooled checkout + SELECT 1": (lambda: select_one(engine), 200),
                "NullPool connect + SELECT 1": (lambda: select_one(unpooled), 15),
                "the pre-ping round trip alone": (lambda: pinged.dialect.do_ping(driver_conn), 200),
            }
        )
    for label, ms in timings.items():
        print(f"{label}: {ms:.2f} ms")
    for disposable in (engine, pinged, unpooled, admin):
        disposable.dispose()


if __name__ == "__main__":
    main()
