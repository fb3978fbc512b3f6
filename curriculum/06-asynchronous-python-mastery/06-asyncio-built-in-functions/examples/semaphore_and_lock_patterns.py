"""Semaphore and Lock against a real socket: bounded fan-out, a leaked permit, single flight.

A local TCP "inventory service" (asyncio.start_server on an ephemeral port) counts how many
requests it is serving at once and how many auth tokens it has issued, so the client's
concurrency is measured where it lands, not where it is intended.
"""

import asyncio
import logging
import sys
import time
from dataclasses import dataclass, field

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="   log %(name)s: %(message)s")
log = logging.getLogger("catalog")

SERVICE_TIME = 0.15


@dataclass
class InventoryService:
    in_flight: int = 0
    peak: int = 0
    tokens_issued: int = 0
    port: int = 0
    server: asyncio.Server | None = field(default=None, repr=False)

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    def reset(self) -> None:
        self.in_flight = self.peak = self.tokens_issued = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readline()).decode().strip()
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(SERVICE_TIME)
        self.in_flight -= 1
        if request == "TOKEN":
            self.tokens_issued += 1
            reply = f"tok-{self.tokens_issued}"
        else:
            reply = f"{request}:in-stock"
        writer.write(f"{reply}\n".encode())
        await writer.drain()
        writer.close()
        await writer.wait_closed()


async def ask(service: InventoryService, request: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", service.port)
    try:
        writer.write(f"{request}\n".encode())
        await writer.drain()
        return (await reader.readline()).decode().strip()
    finally:
        writer.close()
        await writer.wait_closed()


async def bounded_fan_out(service: InventoryService) -> None:
    print("1. Semaphore(5) caps what the service sees, not just what the client intends")
    skus = [f"SKU-{n}" for n in range(20)]

    service.reset()
    await asyncio.gather(*(ask(service, sku) for sku in skus))
    print(f"   no limit:     peak at the service = {service.peak}")

    service.reset()
    limit = asyncio.Semaphore(5)

    async def limited(sku: str) -> str:
        async with limit:
            return await ask(service, sku)

    started = time.perf_counter()
    answers = await asyncio.gather(*(limited(sku) for sku in skus))
    elapsed = time.perf_counter() - started
    print(f"   Semaphore(5): peak at the service = {service.peak}, {len(answers)} answers")
    ideal = len(skus) / 5 * SERVICE_TIME
    print(f"   20 requests, 5 at a time, {SERVICE_TIME} s each: ideal {ideal:.1f} s")
    print(f"   took {elapsed:.2f} s")


async def leaked_permit(service: InventoryService) -> None:
    print("2. one release() too many raises the limit for good")
    for semaphore in (asyncio.Semaphore(5), asyncio.BoundedSemaphore(5)):
        kind = type(semaphore).__name__
        service.reset()

        async def lookup(sku: str, limit: asyncio.Semaphore = semaphore) -> None:
            await limit.acquire()
            try:
                await ask(service, sku)
            finally:
                limit.release()
            if sku == "SKU-0":
                limit.release()  # a "cleanup" path that releases a second time

        try:
            await lookup("SKU-0")
            await asyncio.gather(*(lookup(f"SKU-{n}") for n in range(1, 13)))
            print(f"   {kind}: no error; peak at the service = {service.peak} (limit was 5)")
        except ValueError as error:
            print(f"   {kind}: ValueError at the extra release(): {error}")


@dataclass
class TokenCache:
    service: InventoryService
    token: str | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get_unguarded(self) -> str:
        if self.token is None:
            self.token = await ask(self.service, "TOKEN")
        return self.token

    async def get(self) -> str:
        if self.token is not None:
            return self.token
        async with self.lock:
            if self.token is None:  # check again: another task may have refreshed it
                self.token = await ask(self.service, "TOKEN")
                log.info("token refreshed")
            return self.token


async def single_flight(service: InventoryService) -> None:
    print("3. Lock + a second check: one token refresh for ten concurrent requests")
    service.reset()
    cache = TokenCache(service)
    tokens = await asyncio.gather(*(cache.get_unguarded() for _ in range(10)))
    print(f"   without the lock: {service.tokens_issued} refreshes, {len(set(tokens))} tokens")

    service.reset()
    cache = TokenCache(service)
    tokens = await asyncio.gather(*(cache.get() for _ in range(10)))
    print(f"   with the lock:    {service.tokens_issued} refresh, {len(set(tokens))} token")


async def lock_rules() -> None:
    print("4. Lock rules: FIFO, not reentrant, release only what you hold")
    lock = asyncio.Lock()
    order: list[str] = []

    async def writer(name: str) -> None:
        async with lock:
            order.append(name)
            await asyncio.sleep(0.001)

    async with lock:
        names = ("ledger-a", "ledger-b", "ledger-c")
        waiting = [asyncio.create_task(writer(name)) for name in names]
        await asyncio.sleep(0.01)
    await asyncio.gather(*waiting)
    print(f"   waiters got the lock in arrival order: {order}")

    try:
        async with lock, asyncio.timeout(0.1):
            await lock.acquire()  # the same task again: it waits for itself
    except TimeoutError:
        print(
            f"   acquire() while holding it: deadlock, ended by the timeout; locked={lock.locked()}"
        )
    try:
        lock.release()
    except RuntimeError as error:
        print(f"   release() of an unlocked Lock -> RuntimeError: {error}")


async def main() -> None:
    service = InventoryService()
    await service.start()
    try:
        await bounded_fan_out(service)
        await leaked_permit(service)
        await single_flight(service)
        await lock_rules()
    finally:
        await service.stop()


if __name__ == "__main__":
    asyncio.run(main())
