"""The crawl: a frontier in PostgreSQL, a queue and workers per host, one writer.

    frontier table --load--> host queues --workers--> fetch, parse --results--> writer --> tables
                                  ^                                   |
                                  +----------- new links -------------+

- Scope is the set of origins (scheme://host:port) of the seed URLs.
- Each host has its own queue and `per_host_concurrency` workers, so a slow host never holds
  up a fast one, and its own gate (politeness.HostGate) that every request to it passes.
- A worker takes a URL, checks robots.txt, fetches (with retries), parses HTML in the parser
  pool, queues the new links it found, and hands a Result to the writer. New links are
  deduplicated against `known`, the set of every URL ever discovered.
- The writer stores results in batches, one transaction each: whatever accumulated while
  the previous batch was being written. A page and the links it revealed commit together.
- The crawl is finished when no URL is outstanding (queued or being processed).
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from scraper.config import CrawlConfig
from scraper.fetcher import Fetched, Fetcher, Redirected
from scraper.parsing import ParsedPage
from scraper.politeness import HostGate, RobotsRules
from scraper.shutdown import Shutdown
from scraper.storage import FrontierEntry, Result, Storage

logger = logging.getLogger(__name__)

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
ParseFunction = Callable[[bytes, str | None, str], Awaitable[ParsedPage]]


@dataclass
class CrawlReport:
    pages: int = 0
    redirects: int = 0
    failures: int = 0
    blocked: int = 0
    pending: int = 0  # URLs left in the frontier (a stop, or a host without robots.txt)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{self.pages} pages, {self.redirects} redirects, {self.failures} failures, "
            f"{self.blocked} blocked by robots.txt, {self.pending} left pending, "
            f"in {self.seconds:.1f} s"
        )


class Host:
    """One origin in scope: its queue, its gate and its robots.txt rules."""

    def __init__(self, origin_url: str, config: CrawlConfig) -> None:
        self.origin = origin_url
        self.gate = HostGate(config.per_host_concurrency, config.per_host_rate)
        self.queue: asyncio.Queue[FrontierEntry] = asyncio.Queue()
        self.robots: RobotsRules | None = None  # None: robots.txt could not be read
        self.started = False


class Crawler:
    def __init__(
        self,
        config: CrawlConfig,
        storage: Storage,
        fetcher: Fetcher,
        parse: ParseFunction,
        shutdown: Shutdown,
        scope: set[str],
        known: set[str],
    ) -> None:
        self.config = config
        self.storage = storage
        self.fetcher = fetcher
        self.parse = parse
        self.shutdown = shutdown
        self.known = known
        self.scope = scope
        self.hosts: dict[str, Host] = {}
        self.outstanding = 0
        self.finished = asyncio.Event()
        self.results: asyncio.Queue[Result | None] = asyncio.Queue()
        self.report = CrawlReport()
        self.tasks: list[asyncio.Task[None]] = []
        self._group: asyncio.TaskGroup | None = None

    async def run(self, pending: Iterable[FrontierEntry]) -> CrawlReport:
        """Crawl until no URL is outstanding or shutdown is requested; return the report.

        A TaskGroup holds the writer and the hosts' tasks, so a bug in any of them ends the
        crawl with its traceback instead of hanging. Wait for `finished` or the shutdown
        event; on shutdown, drain; then cancel the workers still waiting for a URL, put the
        None sentinel on `results` and await the writer, which stores what is left.
        """
        raise NotImplementedError("TODO: Crawler.run")

    async def _drain(self) -> None:
        """Give the workers that are mid-request up to drain_timeout to finish and hand over."""
        raise NotImplementedError("TODO: Crawler._drain")

    # -- the frontier --------------------------------------------------------------------

    def _enqueue(self, entry: FrontierEntry) -> None:
        """Queue a URL on its host (created on first use); count it as outstanding; start
        the host's task the first time it gets work (robots.txt, then the workers)."""
        raise NotImplementedError("TODO: Crawler._enqueue")

    def _discover(self, urls: Iterable[str | None], redirects: int) -> tuple[FrontierEntry, ...]:
        """Queue the in-scope URLs never seen before; return them for the frontier table.
        Skip one that contains a NUL character: PostgreSQL text refuses it, and the failed
        INSERT would take the whole batch, and the crawl, with it."""
        raise NotImplementedError("TODO: Crawler._discover")

    def _finish(self, result: Result | None) -> None:
        """Hand a result to the writer (None: nothing to write) and count the URL as done;
        the last one sets `finished`."""
        raise NotImplementedError("TODO: Crawler._finish")

    # -- hosts and workers ---------------------------------------------------------------

    async def _start_host(self, host: Host) -> None:
        """Read robots.txt, then start per_host_concurrency workers for the host."""
        raise NotImplementedError("TODO: Crawler._start_host")

    async def _read_robots(self, host: Host) -> RobotsRules | None:
        """2xx: its rules. 4xx: no rules at all. Anything else (5xx after retries, no answer):
        None, and the host's URLs stay pending for a later run."""
        raise NotImplementedError("TODO: Crawler._read_robots")

    async def _work(self, host: Host) -> None:
        """Forever: wait (shutdown.waiting) for a URL on the host's queue, process it, finish."""
        raise NotImplementedError("TODO: Crawler._work")

    async def _process(self, host: Host, entry: FrontierEntry) -> Result | None:
        """robots.txt, fetch, then one Result: a page (with the links it revealed), a
        redirect, a failure, or "blocked". HTML is parsed with self.parse; the digest is the
        SHA-256 of the body bytes; a title must not contain NUL characters (PostgreSQL
        text refuses them)."""
        raise NotImplementedError("TODO: Crawler._process")

    def _redirected(self, entry: FrontierEntry, outcome: Redirected) -> Result:
        """A redirect row whose target enters the frontier one redirect further, or, when
        entry.redirects already equals max_redirects, a too_many_redirects failure."""
        raise NotImplementedError("TODO: Crawler._redirected")

    async def _parse(self, fetched: Fetched, url: str) -> ParsedPage:
        raise NotImplementedError("TODO: Crawler._parse")

    # -- the writer ------------------------------------------------------------------------

    async def _write_results(self) -> None:
        """Until the None sentinel: take every result waiting on the queue and save them as
        one batch. Batches grow by themselves while the database is busy."""
        raise NotImplementedError("TODO: Crawler._write_results")


async def crawl(config: CrawlConfig, shutdown: Shutdown, parse: ParseFunction) -> CrawlReport:
    """Crawl from the seeds (resuming whatever the tables hold) until done or shut down.

    Normalise the seeds (ValueError for one that is not http(s)), connect the storage,
    create the tables, add the seeds, load the frontier, open ONE aiohttp.ClientSession for
    the whole crawl (User-Agent header; a TCPConnector with limit_per_host), and run a
    Crawler whose scope is the seeds' origins. Close everything on the way out.
    """
    raise NotImplementedError("TODO: crawl")
