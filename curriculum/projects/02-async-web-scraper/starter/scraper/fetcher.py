"""Fetching one URL politely, with retries: what a single request may end as.

`Fetcher.fetch` returns one of three outcomes. Redirects are not followed here: a redirect is
an outcome, and the crawler puts its target through the frontier like any other link, so that
it is deduplicated, checked against robots.txt and scope, and counted against the cap.

    Fetched     a 2xx response and its body
    Redirected  a 301, 302, 303, 307 or 308 with a Location header
    Failed      given up: a final status (4xx other than 429, other 3xx), or a transient
                failure (5xx, 429, timeout, connection error) on the last attempt

Retries wait backoff_base * 2**(attempt - 1) seconds, capped at backoff_max, plus up to 25 %
jitter so that many failed requests do not come back in lockstep. A Retry-After header on a
429 or 503 overrides a shorter backoff and pauses the whole host.
"""

import logging
import random
from dataclasses import dataclass

import aiohttp

from scraper.config import CrawlConfig
from scraper.politeness import HostGate
from scraper.shutdown import Shutdown

logger = logging.getLogger(__name__)

REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class Fetched:
    status: int
    body: bytes
    content_type: str | None  # media type without parameters, lowercased
    charset: str | None
    attempts: int


@dataclass(frozen=True)
class Redirected:
    status: int
    location: str
    attempts: int


@dataclass(frozen=True)
class Failed:
    reason: str  # http_status | timeout | connection | too_many_redirects
    status: int | None
    attempts: int
    detail: str


Outcome = Fetched | Redirected | Failed


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds: either a number of seconds ("3") or an HTTP date
    ("Wed, 21 Oct 2026 07:28:00 GMT", parsed with email.utils.parsedate_to_datetime).
    None when the header is absent or unreadable; never negative."""
    raise NotImplementedError("TODO: retry_after_seconds")


class Fetcher:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        config: CrawlConfig,
        shutdown: Shutdown,
        rng: random.Random | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.shutdown = shutdown
        self.timeout = aiohttp.ClientTimeout(total=config.request_timeout)
        self.rng = rng or random.Random()

    def backoff(self, failed_attempts: int) -> float:
        """backoff_base * 2**(failed_attempts - 1), capped at backoff_max, plus 0-25 % jitter."""
        raise NotImplementedError("TODO: Fetcher.backoff")

    async def fetch(self, gate: HostGate, url: str, follow_redirects: bool = False) -> Outcome:
        """One URL, retried as the configuration says. Cancelled (CancelledError) while it
        waits for the gate or a backoff if shutdown is requested; never while a request is out.

        follow_redirects=True is for robots.txt only (aiohttp follows up to 5 redirects);
        pages are fetched with allow_redirects=False and a redirect is an outcome.
        """
        # TODO, for attempt 1, 2, ... max_attempts:
        #   await self.shutdown.waiting(gate.acquire()); then try / finally gate.release()
        #   around `async with self.session.get(url, allow_redirects=..., timeout=...)` and
        #   `await response.read()`. TimeoutError -> Failed("timeout"); aiohttp.ClientError
        #   or OSError -> Failed("connection"); 2xx -> Fetched; a redirect status with a
        #   Location -> Redirected; 429 and 5xx are transient (and may carry Retry-After:
        #   gate.pause() it); any other status is final. After a transient failure, wait
        #   max(backoff, Retry-After) inside shutdown.waiting(), unless it was the last attempt.
        #   Careful: aiohttp itself repeats a GET once, at once, when the connection fails
        #   before any byte of the response arrives; that is not one of your attempts.
        raise NotImplementedError("TODO: Fetcher.fetch")
