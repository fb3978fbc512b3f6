"""Monitoring an order API from inside its event loop: tasks by role, loop lag, in-flight work.

The API (aiohttp, on an ephemeral port) confirms orders and queues a notification for each.
Confirmation e-mails go out in tasks named `confirm-<order>`, and the mail relay never
acknowledges one order in five, so those tasks wait forever: a leak that only a task count
shows. A lag probe feeds a histogram, and /metrics serves everything in Prometheus format
through prometheus_client's aiohttp handler. Then one request renders a report with a blocking
call, and the probe sees it.
"""

import asyncio
import logging
import sys
import time
from collections import Counter
from collections.abc import Iterable

import aiohttp
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(levelname)-7s %(message)s")
log = logging.getLogger("monitor")
REGISTRY = CollectorRegistry()
IN_FLIGHT = Gauge("orders_in_flight", "Order requests being handled", registry=REGISTRY)
LAG = Histogram(
    "event_loop_lag_seconds",
    "How late the lag probe's timer fired",
    buckets=(0.005, 0.025, 0.1, 0.25, 1.0),
    registry=REGISTRY,
)


def role(task: "asyncio.Task[object]") -> str:
    """`confirm-ORD-7` -> `confirm`; asyncio's default names (`Task-12`) -> `unnamed`."""
    name = task.get_name()
    return "unnamed" if name.startswith("Task-") else name.split("-")[0]


class TaskCensus(Collector):
    """Counted at scrape time, so the numbers are never stale and cost nothing in between."""

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily("asyncio_tasks", "Live asyncio tasks by role", labels=["role"])
        for name, count in sorted(Counter(map(role, asyncio.all_tasks())).items()):
            family.add_metric([name], count)
        yield family


async def lag_probe(interval: float, warn_after: float) -> None:
    loop = asyncio.get_running_loop()
    while True:
        planned = loop.time() + interval
        await asyncio.sleep(interval)
        lag = max(0.0, loop.time() - planned)
        LAG.observe(lag)
        if lag > warn_after:
            census = Counter(map(role, asyncio.all_tasks()))
            log.warning(
                "event loop lag %.2f s (> %.1f s); tasks: %s",
                lag,
                warn_after,
                ", ".join(f"{k}={v}" for k, v in sorted(census.items())),
            )


async def send_confirmation(order_id: str, relay_ack: asyncio.Event) -> None:
    await relay_ack.wait()  # the bug: no deadline on the relay's acknowledgement


class OrderApi:
    def __init__(self) -> None:
        self.notifications: asyncio.Queue[str] = asyncio.Queue(maxsize=100)
        self.background: set[asyncio.Task[None]] = set()
        Gauge(
            "notification_queue_depth", "Notifications waiting for a worker", registry=REGISTRY
        ).set_function(self.notifications.qsize)

    async def confirm(self, request: web.Request) -> web.Response:
        order_id = request.match_info["order_id"]
        with IN_FLIGHT.track_inprogress():
            await asyncio.sleep(0.02)  # the database write
            ack = asyncio.Event()
            if not order_id.endswith(("0", "5")):  # the relay drops one order in five
                ack.set()
            task = asyncio.create_task(send_confirmation(order_id, ack), name=f"confirm-{order_id}")
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            await self.notifications.put(order_id)
        return web.json_response({"order": order_id, "status": "confirmed"})

    async def report(self, request: web.Request) -> web.Response:
        time.sleep(0.4)  # the bug: a synchronous CSV render on the event loop
        return web.Response(text="order_id,total\n")

    async def notify_worker(self) -> None:
        while True:
            await self.notifications.get()
            await asyncio.sleep(0.005)  # the push provider call
            self.notifications.task_done()


async def scrape(http: aiohttp.ClientSession, prefixes: tuple[str, ...]) -> None:
    async with http.get("/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith(prefixes):
            print("   ", line)


async def main() -> None:
    asyncio.current_task().set_name("main")  # type: ignore[union-attr]
    REGISTRY.register(TaskCensus())
    api = OrderApi()
    app = web.Application()
    app.router.add_post("/orders/{order_id}/confirm", api.confirm)
    app.router.add_get("/reports/daily", api.report)
    app.router.add_get("/metrics", make_aiohttp_handler(REGISTRY))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    host, port = runner.addresses[0][:2]

    probe = asyncio.create_task(lag_probe(0.05, warn_after=0.2), name="lagprobe")
    workers = [asyncio.create_task(api.notify_worker(), name=f"notifier-{n}") for n in (1, 2)]
    async with aiohttp.ClientSession(f"http://{host}:{port}") as http:
        print("1. after 20 confirmations (4 e-mails never acknowledged)")

        async def confirm(n: int) -> None:
            async with http.post(f"/orders/ORD-{3000 + n}/confirm") as response:
                await response.read()

        await asyncio.gather(*(confirm(n) for n in range(1, 21)))
        await api.notifications.join()
        await scrape(http, ("asyncio_tasks", "orders_in_flight", "notification_queue"))

        print("2. one request renders a report with a blocking call")
        async with http.get("/reports/daily") as response:
            await response.read()
        await asyncio.sleep(0.1)  # let the probe take its late sample
        total = REGISTRY.get_sample_value("event_loop_lag_seconds_count") or 0.0
        fast = REGISTRY.get_sample_value("event_loop_lag_seconds_bucket", {"le": "0.1"}) or 0.0
        print(f"    lag samples: {total:.0f}, above 100 ms: {total - fast:.0f}")

    print("3. what counting costs: a census of 10,000 tasks")
    parked = [asyncio.create_task(asyncio.sleep(60), name=f"parked-{n}") for n in range(10_000)]
    await asyncio.sleep(0)
    started = time.perf_counter()
    census = Counter(map(role, asyncio.all_tasks()))
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"    {census['parked']} parked tasks counted in {elapsed_ms:.1f} ms")
    for task in [*parked, *api.background, probe, *workers]:
        task.cancel()
    await asyncio.gather(*parked, *api.background, probe, *workers, return_exceptions=True)
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
