"""wait_for, asyncio.timeout, wait and as_completed against real sockets.

Three price-service replicas listen on 127.0.0.1 (ephemeral ports) and answer after a fixed delay:
eu-1 is fast, eu-2 is a little slower, us-1 is overloaded. The client opens a TCP connection per
quote and always closes it, including when it is cancelled.
"""

import asyncio
import logging
import sys
import time

log = logging.getLogger("quotes")
REPLICA_DELAYS = {"eu-1": 0.05, "eu-2": 0.15, "us-1": 3.0}


async def start_replica(name: str, delay: float) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            sku = (await reader.readline()).decode().strip()
            try:
                async with asyncio.timeout(delay):  # the replica's processing time...
                    await reader.read()  # ...unless the client hangs up first (EOF)
                return  # the client went away: drop the work, answer nobody
            except TimeoutError:
                pass
            writer.write(f"{sku} 19.99 from {name}\n".encode())
            await writer.drain()
        except ConnectionError:
            log.warning("%s: connection lost while answering", name)
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    return server, port


async def fetch_quote(replica: str, port: int, sku: str) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"{sku}\n".encode())
        await writer.drain()
        return (await reader.readline()).decode().strip()
    except asyncio.CancelledError:
        print(f"    client: request to {replica} cancelled")
        raise
    finally:
        writer.close()
        await writer.wait_closed()


async def step_1_wait_for(ports: dict[str, int]) -> None:
    print("1. wait_for: cancel the call at the deadline, wait for its cleanup, raise TimeoutError")
    try:
        await asyncio.wait_for(fetch_quote("us-1", ports["us-1"], "SKU-1"), timeout=0.2)
    except TimeoutError:
        print("  TimeoutError, raised after the client's cleanup had run")
    quote = await asyncio.wait_for(fetch_quote("eu-1", ports["eu-1"], "SKU-1"), timeout=0.2)
    print(f"  a fast replica within the deadline: {quote}")


async def step_2_one_deadline_for_a_whole_request(ports: dict[str, int]) -> None:
    print("2. asyncio.timeout: one budget shared by every await in the block")
    steps_done = []
    try:
        async with asyncio.timeout(0.5) as budget:
            for replica in ("eu-1", "eu-2", "us-1"):
                steps_done.append(await fetch_quote(replica, ports[replica], "SKU-2"))
    except TimeoutError:
        print(f"  budget spent after {len(steps_done)} quotes; expired()={budget.expired()}")
    async with asyncio.timeout(None) as budget:  # no deadline yet
        budget.reschedule(asyncio.get_running_loop().time() + 0.5)  # decided later
        print(f"  rescheduled budget: {await fetch_quote('eu-2', ports['eu-2'], 'SKU-2')}")


async def step_3_wait_returns_what_is_done(ports: dict[str, int]) -> None:
    print("3. asyncio.wait(timeout=...): no exception, and nothing is cancelled for you")
    tasks = {
        asyncio.create_task(fetch_quote(name, port, "SKU-3"), name=name)
        for name, port in ports.items()
    }
    done, pending = await asyncio.wait(tasks, timeout=0.4)
    print(f"  done: {sorted(t.get_name() for t in done)}")
    print(f"  pending: {sorted(t.get_name() for t in pending)}, still running")
    for task in pending:
        task.cancel()
    await asyncio.wait(pending)  # wait for the cancellations to finish
    print(f"  after cancel: cancelled()={[t.cancelled() for t in pending]}")


async def step_4_hedged_request(ports: dict[str, int]) -> None:
    print("4. a hedged request: ask a second replica if the first is slow, keep the winner")
    primary = asyncio.create_task(fetch_quote("us-1", ports["us-1"], "SKU-4"), name="us-1")
    done, _ = await asyncio.wait({primary}, timeout=0.1)
    contenders = {primary}
    if not done:
        print("  primary slow after 0.1 s: hedging to eu-2")
        contenders.add(asyncio.create_task(fetch_quote("eu-2", ports["eu-2"], "SKU-4")))
    done, pending = await asyncio.wait(contenders, return_when=asyncio.FIRST_COMPLETED)
    for loser in pending:
        loser.cancel()
    await asyncio.wait(pending)
    print(f"  winner: {done.pop().result()}")


async def step_5_as_completed(ports: dict[str, int]) -> None:
    print("5. as_completed: handle answers in the order they arrive")
    started = time.perf_counter()
    fast_replicas = {name: port for name, port in ports.items() if name != "us-1"}
    calls = [fetch_quote(name, port, "SKU-5") for name, port in fast_replicas.items()]
    for next_answer in asyncio.as_completed(calls, timeout=1.0):
        quote = await next_answer
        print(f"  {quote} after {time.perf_counter() - started:.2f} s")


async def main() -> None:
    servers, ports = [], {}
    for name, delay in REPLICA_DELAYS.items():
        server, ports[name] = await start_replica(name, delay)
        servers.append(server)
    try:
        await step_1_wait_for(ports)
        await step_2_one_deadline_for_a_whole_request(ports)
        await step_3_wait_returns_what_is_done(ports)
        await step_4_hedged_request(ports)
        await step_5_as_completed(ports)
    finally:
        for server in servers:
            server.close()
            await server.wait_closed()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(levelname)s %(message)s")
    asyncio.run(main())
