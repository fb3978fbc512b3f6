"""A fulfilment service's skeleton: settings, one lifespan that owns every resource, a task
supervisor, and the order things open and close in.

The service books couriers for orders: it records each booking in PostgreSQL (asyncpg), calls
the carrier's HTTP API (aiohttp; a fake carrier runs in-process on an ephemeral port) and
announces the booking on a Redis list. Part 1 runs it and stops it. Part 2 makes the carrier's
health check fail during startup. Part 3 shows the two leaks an owner prevents.
"""

import asyncio
import logging
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import aiohttp
import asyncpg
from aiohttp import web
from redis.asyncio import Redis

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)-10s %(message)s")
log = logging.getLogger("lifespan")
PREFIX = "s6_16"


@dataclass(frozen=True)
class Settings:
    postgres_dsn: str
    redis_url: str
    carrier_url: str
    close_budget: float = 2.0

    @classmethod
    def from_env(cls, carrier_url: str) -> "Settings":
        pg = os.environ.get(
            "PYMASTERY_POSTGRES_URL",
            "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples",
        )
        return cls(
            postgres_dsn=pg.replace("postgresql+psycopg://", "postgresql://"),
            redis_url=os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0"),
            carrier_url=carrier_url,
        )


@dataclass(frozen=True)
class Resources:
    db: asyncpg.Pool
    redis: "Redis"
    carrier: aiohttp.ClientSession


class Supervisor:
    """Owns long-running background tasks: names them, logs their crashes, stops them all."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()

    def spawn(self, name: str, job: Callable[[], Awaitable[None]]) -> None:
        async def guarded() -> None:
            try:
                await job()
            except Exception:
                logging.getLogger("supervisor").exception("%s crashed", name)

        task = asyncio.create_task(guarded(), name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("supervisor: stopped %s", ", ".join(t.get_name() for t in tasks) or "nothing")


async def close_pool(pool: asyncpg.Pool, budget: float) -> None:
    try:
        await asyncio.wait_for(pool.close(), budget)
        log.info("closed postgres pool")
    except TimeoutError:
        pool.terminate()
        log.warning("postgres pool did not close in %.1f s: terminated", budget)


async def close_redis(redis: "Redis") -> None:
    await redis.aclose()
    log.info("closed redis client")


async def close_session(session: aiohttp.ClientSession) -> None:
    await session.close()
    log.info("closed carrier session")


@asynccontextmanager
async def lifespan(settings: Settings) -> AsyncIterator[tuple[Resources, Supervisor]]:
    """Open in dependency order; the exit stack closes in reverse, whatever happens."""
    async with AsyncExitStack() as stack:
        db = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=4)
        stack.push_async_callback(close_pool, db, settings.close_budget)
        await db.execute(
            f"CREATE TABLE IF NOT EXISTS {PREFIX}_bookings"
            " (order_id text PRIMARY KEY, tracking text NOT NULL)"
        )
        log.info("opened postgres pool")

        redis = Redis.from_url(settings.redis_url)
        stack.push_async_callback(close_redis, redis)
        await redis.ping()
        log.info("opened redis client")

        timeout = aiohttp.ClientTimeout(total=2)
        carrier = aiohttp.ClientSession(base_url=settings.carrier_url, timeout=timeout)
        stack.push_async_callback(close_session, carrier)
        log.info("opened carrier session")
        async with carrier.get("/health") as response:  # fail fast, before taking traffic
            if response.status != 200:
                raise RuntimeError(f"carrier health check answered {response.status}")

        supervisor = Supervisor()
        stack.push_async_callback(supervisor.stop)  # stopped first: it uses everything above
        yield Resources(db, redis, carrier), supervisor
        log.info("shutting down")


async def book(res: Resources, order_id: str) -> str:
    async with res.carrier.post("/bookings", json={"order": order_id}) as response:
        response.raise_for_status()
        tracking = str((await response.json())["tracking"])
    await res.db.execute(f"INSERT INTO {PREFIX}_bookings VALUES ($1, $2)", order_id, tracking)
    await res.redis.rpush(f"{PREFIX}:bookings", f"{order_id}={tracking}")
    return tracking


async def heartbeat(res: Resources) -> None:
    while True:
        await res.redis.set(f"{PREFIX}:heartbeat", "alive", px=1000)
        await asyncio.sleep(0.05)


async def run_service(settings: Settings) -> int:
    try:
        async with lifespan(settings) as (res, supervisor):
            supervisor.spawn("heartbeat", lambda: heartbeat(res))
            for order_id in ("ORD-2001", "ORD-2002", "ORD-2003"):
                logging.getLogger("orders").info(
                    "%s booked: %s", order_id, await book(res, order_id)
                )
        return 0
    except Exception as error:  # e.g. a failed startup: what was opened is closed again
        logging.getLogger("main").error("stopped by %r; exit code 1", error)
        return 1


async def start_carrier(health_status: int) -> tuple[web.AppRunner, str]:
    async def health(request: web.Request) -> web.Response:
        return web.Response(status=health_status)

    async def bookings(request: web.Request) -> web.Response:
        order = (await request.json())["order"]
        return web.json_response({"tracking": "TRK-" + order.removeprefix("ORD-")})

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/bookings", bookings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


async def reconcile(db: asyncpg.Pool) -> None:
    """Holds a connection and a transaction across a slow call: the classic pool hog."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1")
        await asyncio.sleep(30)  # waiting on a partner API with no deadline


async def part_3_leaks(settings: Settings) -> None:
    print("--- 3. what an owner prevents")
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(
        lambda _loop, context: print(f"loop exception handler: {context['message']}")
    )
    session = aiohttp.ClientSession()  # created, never closed
    del session  # the last reference goes: aiohttp's __del__ reports it
    db = await asyncpg.create_pool(settings.postgres_dsn, min_size=1, max_size=2)
    task = asyncio.create_task(reconcile(db), name="reconcile")
    await asyncio.sleep(0.1)
    await close_pool(db, budget=0.3)  # wrong order: the task still holds a connection
    task.cancel()
    (outcome,) = await asyncio.gather(task, return_exceptions=True)
    print(f"the task, cancelled after the pool: {type(outcome).__name__}: {outcome}")


async def reset(settings: Settings, drop: bool) -> None:
    conn = await asyncpg.connect(settings.postgres_dsn)
    await conn.execute(f"DROP TABLE IF EXISTS {PREFIX}_bookings")
    await conn.close()
    redis = Redis.from_url(settings.redis_url)
    await redis.delete(f"{PREFIX}:bookings", f"{PREFIX}:heartbeat")
    await redis.aclose()
    if drop:
        print("tables and keys dropped")


async def main() -> None:
    settings = Settings.from_env("http://unused")
    await reset(settings, drop=False)
    for part, status in (("1. a normal start and stop", 200), ("2. the carrier is down", 503)):
        print(f"--- {part}")
        runner, url = await start_carrier(status)
        print(f"exit code {await run_service(Settings.from_env(url))}")
        await runner.cleanup()
    await part_3_leaks(settings)
    await reset(settings, drop=True)


if __name__ == "__main__":
    asyncio.run(main())
