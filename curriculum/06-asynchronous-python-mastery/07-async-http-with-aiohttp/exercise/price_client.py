"""The storefront's client for the internal pricing service, built on one aiohttp session.

The pricing service is reached through the node's service-mesh sidecar, which listens on a
Unix socket; the sidecar routes by the Host header. `build_session` configures the pool and
the deadline once. `fetch_price` asks for one SKU and
retries what is worth retrying; `fetch_prices` asks for many at once; `first_price_over`
reads the pricing service's NDJSON change feed as a stream and stops at the first match.
"""

import asyncio  # noqa: F401  (you will need it)
import json  # noqa: F401  (you will need it)
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
    # TODO: make sure base_url ends with "/" (aiohttp requires it, and "prices/X" must stay
    #       under the base path).
    # TODO: an aiohttp.UnixConnector for the socket with the connection limit, and a
    #       ClientTimeout with the total.
    raise NotImplementedError


async def fetch_price(
    session: aiohttp.ClientSession, sku: str, *, attempts: int = 3, base_delay: float = 0.05
) -> int | None:
    """GET prices/{sku} and return its price_cents, or None when the SKU does not exist (404).

    429, 502, 503, 504, a timeout or a connection error is retried, up to `attempts` requests
    in all, sleeping base_delay, 2 * base_delay, 4 * base_delay ... between them; after the
    last attempt the last error propagates. Any other error status raises ClientResponseError
    at once.
    """
    # TODO: a loop over the attempts; each request inside `async with session.get(...)`.
    # TODO: 404 -> None; a status in RETRY_STATUSES -> try again unless this was the last
    #       attempt; any other error status -> raise_for_status().
    # TODO: catch the connection errors and the timeout (which one is not a ClientError?).
    # TODO: sleep with exponential backoff before the next attempt.
    raise NotImplementedError


async def fetch_prices(session: aiohttp.ClientSession, skus: list[str]) -> dict[str, int | None]:
    """Fetch every SKU concurrently and return {sku: price or None} in the order of `skus`.

    A SKU listed twice is fetched once. The session's connector bounds how many requests
    run at once. If one fetch fails, the others are cancelled and the error propagates.
    """
    # TODO: drop duplicates but keep the order; one fetch_price task per SKU, all at once.
    raise NotImplementedError


async def first_price_over(
    session: aiohttp.ClientSession, path: str, threshold_cents: int
) -> dict[str, Any] | None:
    """Stream the NDJSON feed at `path` and return the first row whose price_cents is above
    `threshold_cents`, or None if the feed ends without one.

    The feed can be far larger than memory, or endless: read it line by line and stop as
    soon as a row matches. Blank lines are skipped.
    """
    # TODO: iterate over the response body as it arrives, never the whole body at once.
    raise NotImplementedError
