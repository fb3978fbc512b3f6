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
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import aiohttp

from scraper.config import CrawlConfig
from scraper.fetcher import Failed, Fetched, Fetcher, Redirected
from scraper.parsing import ParsedPage
from scraper.politeness import HostGate, RobotsRules
from scraper.shutdown import Shutdown
from scraper.storage import FailureRow, FrontierEntry, PageRow, Result, Storage
from scraper.urls import normalize_url, origin

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
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            self._group = group
            writer = group.create_task(self._write_results())
            progress = group.create_task(self._log_progress(started))
            for entry in pending:
                self._enqueue(entry)
            if self.outstanding == 0:
                self.finished.set()
            stopped = group.create_task(self.shutdown.event.wait())
            done = group.create_task(self.finished.wait())
            await asyncio.wait({stopped, done}, return_when=asyncio.FIRST_COMPLETED)
            if self.shutdown.requested:
                await self._drain()
            for task in (*self.tasks, stopped, done, progress):
                task.cancel()  # workers still waiting for a URL, and the helpers
            await asyncio.gather(*self.tasks, return_exceptions=True)
            self.results.put_nowait(None)  # the writer stores what is left, then returns
            await writer
        self.report.pending += self.outstanding  # queued when a stop came
        self.report.seconds = time.monotonic() - started
        return self.report

    async def _drain(self) -> None:
        """Give the workers that are mid-request up to drain_timeout to finish and hand over."""
        working = [task for task in self.tasks if not task.done()]
        logger.info("stopping: waiting for %d workers to finish their requests", len(working))
        if working:
            _, late = await asyncio.wait(working, timeout=self.config.drain_timeout)
            if late:
                logger.warning(
                    "%d requests did not finish in time; fetched again next run", len(late)
                )

    # -- the frontier --------------------------------------------------------------------

    def _enqueue(self, entry: FrontierEntry) -> None:
        host = self.hosts.get(origin(entry.url))
        if host is None:
            host = self.hosts[origin(entry.url)] = Host(origin(entry.url), self.config)
        self.outstanding += 1
        host.queue.put_nowait(entry)
        if not host.started and self._group is not None and not self.shutdown.requested:
            host.started = True
            self.tasks.append(self._group.create_task(self._start_host(host)))

    def _discover(self, urls: Iterable[str | None], redirects: int) -> tuple[FrontierEntry, ...]:
        """Queue the in-scope URLs never seen before; return them for the frontier table."""
        new = []
        for url in urls:
            if url is None or url in self.known or origin(url) not in self.scope:
                continue
            if "\x00" in url:
                # PostgreSQL text cannot hold NUL: storing it would fail the whole batch.
                logger.debug("skipping a URL with a NUL character: %r", url)
                continue
            self.known.add(url)
            entry = FrontierEntry(url, redirects)
            new.append(entry)
            self._enqueue(entry)
        return tuple(new)

    def _finish(self, result: Result | None) -> None:
        if result is not None:
            self.results.put_nowait(result)
        self.outstanding -= 1
        if self.outstanding == 0:
            self.finished.set()

    # -- hosts and workers ---------------------------------------------------------------

    async def _start_host(self, host: Host) -> None:
        host.robots = await self._read_robots(host)
        for _ in range(self.config.per_host_concurrency):
            if self._group is not None:
                self.tasks.append(self._group.create_task(self._work(host)))

    async def _read_robots(self, host: Host) -> RobotsRules | None:
        url = f"{host.origin}/robots.txt"
        outcome = await self.fetcher.fetch(host.gate, url, follow_redirects=True)
        agent = self.config.user_agent
        if isinstance(outcome, Fetched):
            text = outcome.body.decode(outcome.charset or "utf-8", errors="replace")
            logger.info("robots.txt of %s: %d lines", host.origin, len(text.splitlines()))
            return RobotsRules(agent, text)
        if isinstance(outcome, Failed) and outcome.status is not None and outcome.status < 500:
            logger.info("robots.txt of %s: HTTP %d, no rules", host.origin, outcome.status)
            return RobotsRules.allowing_everything(agent)
        detail = outcome.detail if isinstance(outcome, Failed) else "too many redirects"
        logger.error(
            "robots.txt of %s unavailable (%s): its URLs stay pending", host.origin, detail
        )
        return None

    async def _work(self, host: Host) -> None:
        while True:
            entry = await self.shutdown.waiting(host.queue.get())
            self._finish(await self._process(host, entry))

    async def _process(self, host: Host, entry: FrontierEntry) -> Result | None:
        url = entry.url
        if host.robots is None:
            self.report.pending += 1
            return None  # stays pending for a later run
        if not host.robots.allows(url):
            return Result(url, "blocked")
        outcome = await self.fetcher.fetch(host.gate, url)
        if isinstance(outcome, Failed):
            failure = FailureRow(
                url, outcome.reason, outcome.status, outcome.attempts, outcome.detail
            )
            return Result(url, "failed", failure=failure)
        if isinstance(outcome, Redirected):
            return self._redirected(entry, outcome)
        parsed = ParsedPage(None, [])
        if outcome.content_type in HTML_TYPES:
            parsed = await self._parse(outcome, url)
        title = parsed.title.replace("\x00", "") if parsed.title else None
        digest = hashlib.sha256(outcome.body).hexdigest()
        page = PageRow(url, outcome.status, None, outcome.content_type, title, digest)
        return Result(url, "done", page=page, discovered=self._discover(parsed.links, 0))

    def _redirected(self, entry: FrontierEntry, outcome: Redirected) -> Result:
        target = normalize_url(outcome.location, entry.url)
        if entry.redirects >= self.config.max_redirects:
            detail = f"{entry.redirects} redirects followed to get here; not following {target}"
            failure = FailureRow(
                entry.url, "too_many_redirects", outcome.status, outcome.attempts, detail
            )
            return Result(entry.url, "failed", failure=failure)
        page = PageRow(entry.url, outcome.status, target, None, None, None)
        discovered = self._discover([target], entry.redirects + 1)
        return Result(entry.url, "done", page=page, discovered=discovered)

    async def _parse(self, fetched: Fetched, url: str) -> ParsedPage:
        try:
            return await self.parse(fetched.body, fetched.charset, url)
        except Exception:
            logger.exception("could not parse %s; storing it without links", url)
            return ParsedPage(None, [])

    # -- the writer and progress ---------------------------------------------------------

    async def _write_results(self) -> None:
        closing = False
        while not closing:
            batch: list[Result] = []
            item = await self.results.get()
            while True:
                if item is None:
                    closing = True
                else:
                    batch.append(item)
                if self.results.empty():
                    break
                item = self.results.get_nowait()
            if batch:
                await self.storage.save(batch)
                self._count(batch)

    def _count(self, batch: list[Result]) -> None:
        for result in batch:
            if result.page is not None:
                if 300 <= result.page.status < 400:
                    self.report.redirects += 1
                else:
                    self.report.pages += 1
            elif result.failure is not None:
                self.report.failures += 1
            else:
                self.report.blocked += 1

    async def _log_progress(self, started: float) -> None:
        while True:
            await asyncio.sleep(5)
            elapsed = time.monotonic() - started
            logger.info(
                "%d pages stored (%.0f/s), %d URLs outstanding",
                self.report.pages,
                self.report.pages / elapsed,
                self.outstanding,
            )


async def crawl(config: CrawlConfig, shutdown: Shutdown, parse: ParseFunction) -> CrawlReport:
    """Crawl from the seeds (resuming whatever the tables hold) until done or shut down."""
    seeds = []
    for seed in config.seeds:
        normalized = normalize_url(seed, seed)
        if normalized is None:
            raise ValueError(f"seed {seed!r} is not an http(s) URL")
        seeds.append(normalized)
    storage = await Storage.connect(config.dsn, config.table_prefix)
    try:
        await storage.create_tables()
        await storage.add_seeds(seeds)
        pending, known = await storage.load_frontier()
        logger.info("frontier: %d URLs known, %d pending", len(known), len(pending))
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=config.per_host_concurrency)
        headers = {"User-Agent": config.user_agent}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            fetcher = Fetcher(session, config, shutdown)
            scope = {origin(seed) for seed in seeds}
            crawler = Crawler(config, storage, fetcher, parse, shutdown, scope, known)
            return await crawler.run(pending)
    finally:
        await storage.close()
