"""The storefront's client for the internal pricing service, built on one aiohttp session.

The pricing service is reached through the node's service-mesh sidecar, which listens on a
Unix socket; the sidecar routes by the Host header. `build_session` configures the pool and
the deadline once. `fetch_price` asks for one SKU and
retries what is worth retrying; `fetch_prices` asks for many at once; `first_price_over`
reads the pricing service's NDJSON change feed as a stream and stops at the first match.
"""

import asyncio
import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger("price_client")

RETRY_STATUSES = frozenset({429, 502, 503, 504})


def build_session(
    base_url: str, *, socket_path: str, max_connections: int, total_timeout: float
) -> aiohttp.ClientSession:
    """A session whose relative URLs resolve under `base_url` and travel over the Unix socket
    at `socket_path`, with at most `max_connections` connections open at once and
    `total_timeout` seconds for each request.

    Call it inside a running event loop; the caller closes the session.
    """
    if not base_url.endswith("/"):
        base_url += "/"  # without it aiohttp raises ValueError; with it "prices/X" stays under
    connector = aiohttp.UnixConnector(path=socket_path, limit=max_connections)
    timeout = aiohttp.ClientTimeout(total=total_timeout)
    return aiohttp.ClientSession(base_url, connector=connector, timeout=timeout)


async def fetch_price(
    session: aiohttp.ClientSession, sku: str, *, attempts: int = 3, base_delay: float = 0.05
) -> int | None:
    """GET prices/{sku} and return its price_cents, or None when the SKU does not exist (404).

    429, 502, 503, 504, a timeout or a connection error is retried, up to `attempts` requests
    in all, sleeping base_delay, 2 * base_delay, 4 * base_delay ... between them; after the
    last attempt the last error propagates. Any other error status raises ClientResponseError
    at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            async with session.get(f"prices/{sku}") as response:
                if response.status == 404:
                    return None
                if response.status not in RETRY_STATUSES or attempt == attempts:
                    response.raise_for_status()
                    body: dict[str, Any] = await response.json()
                    return int(body["price_cents"])
                log.info("%s: HTTP %d on attempt %d", sku, response.status, attempt)
        except (aiohttp.ClientConnectionError, TimeoutError) as error:
            if attempt == attempts:
                raise
            log.info("%s: %s on attempt %d", sku, type(error).__name__, attempt)
        await asyncio.sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable: the last attempt returns or raises")


async def fetch_prices(session: aiohttp.ClientSession, skus: list[str]) -> dict[str, int | None]:
    """Fetch every SKU concurrently and return {sku: price or None} in the order of `skus`.

    A SKU listed twice is fetched once. The session's connector bounds how many requests
    run at once. If one fetch fails, the others are cancelled and the error propagates.
    """
    unique = list(dict.fromkeys(skus))
    async with asyncio.TaskGroup() as group:
        tasks = {sku: group.create_task(fetch_price(session, sku)) for sku in unique}
    return {sku: tasks[sku].result() for sku in unique}


async def first_price_over(
    session: aiohttp.ClientSession, path: str, threshold_cents: int
) -> dict[str, Any] | None:
    """Stream the NDJSON feed at `path` and return the first row whose price_cents is above
    `threshold_cents`, or None if the feed ends without one.

    The feed can be far larger than memory, or endless: read it line by line and stop as
    soon as a row matches. Blank lines are skipped.
    """
    async with session.get(path) as response:
        response.raise_for_status()
        async for line in response.content:
            if not line.strip():
                continue
            row: dict[str, Any] = json.loads(line)
            if row["price_cents"] > threshold_cents:
                return row
    return None
