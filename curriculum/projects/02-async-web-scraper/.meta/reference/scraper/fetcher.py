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

import asyncio
import email.utils
import logging
import random
import time
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
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


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
        delay = min(
            self.config.backoff_max, self.config.backoff_base * 2.0 ** (failed_attempts - 1)
        )
        return delay * (1 + 0.25 * self.rng.random())

    async def fetch(self, gate: HostGate, url: str, follow_redirects: bool = False) -> Outcome:
        """One URL, retried as the configuration says. Cancelled (CancelledError) while it
        waits for the gate or a backoff if shutdown is requested; never while a request is out.
        """
        attempt = 0
        while True:
            attempt += 1
            await self.shutdown.waiting(gate.acquire())
            retry_after = None
            try:
                async with self.session.get(
                    url,
                    allow_redirects=follow_redirects,
                    max_redirects=5,
                    timeout=self.timeout,
                ) as response:
                    body = await response.read()
                    status = response.status
                    headers = response.headers
                    content_type = response.content_type if "Content-Type" in headers else None
                    charset = response.charset
            except TimeoutError:
                failure = Failed(
                    "timeout", None, attempt, f"no answer within {self.timeout.total} s"
                )
            except (aiohttp.ClientError, OSError) as error:
                failure = Failed("connection", None, attempt, f"{type(error).__name__}: {error}")
            else:
                if 200 <= status < 300:
                    return Fetched(status, body, content_type, charset, attempt)
                location = headers.get("Location")
                if status in REDIRECTS and location:
                    return Redirected(status, location, attempt)
                failure = Failed("http_status", status, attempt, f"HTTP {status}")
                if status != 429 and status < 500:
                    return failure  # a client error or an odd 3xx: a retry changes nothing
                retry_after = retry_after_seconds(headers.get("Retry-After"))
            finally:
                gate.release()
            if attempt >= self.config.max_attempts:
                logger.warning(
                    "giving up on %s after %d attempts: %s", url, attempt, failure.detail
                )
                return failure
            delay = self.backoff(attempt)
            if retry_after is not None:
                if retry_after > self.config.backoff_max:
                    logger.warning("%s asks for %.0f s of patience; giving up", url, retry_after)
                    return failure
                gate.pause(retry_after)
                delay = max(delay, retry_after)
            logger.debug(
                "attempt %d at %s failed (%s); retrying in %.2f s",
                attempt,
                url,
                failure.detail,
                delay,
            )
            await self.shutdown.waiting(asyncio.sleep(delay))
