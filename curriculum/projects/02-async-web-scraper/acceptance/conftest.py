"""Fixtures of the acceptance suite: local sites, crawls of them, and clean tables.

Each crawl fixture starts the site's servers, runs your scraper once over it as a separate
process, stops the servers and returns everything the tests look at: the plan (what a correct
crawl stores), the requests the servers saw, and the rows your scraper stored. Several tests
share one crawl: the suite starts your scraper six times in all (the catalogue, the trouble
host, three runs of the shutdown scenario, and the throughput crawl).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from localsite import HitLog, LocalSite
from sites import USER_AGENT, Plan, catalogue, trouble
from support import (
    Run,
    RunTables,
    StoredFailure,
    StoredPage,
    drop_abandoned_tables,
    read_failures,
    read_pages,
    run_scraper,
    scraper_command,
    table_prefix,
)

# The catalogue crawl: politeness limits tight enough to measure, a short redirect cap.
CATALOGUE_PAGES_PER_HOST = 300
CATALOGUE_OPTIONS: dict[str, object] = {
    "user_agent": USER_AGENT,
    "per_host_concurrency": 4,
    "per_host_rate": 40,
    "max_redirects": 3,
    "max_attempts": 3,
    "backoff_base": 0.2,
    "request_timeout": 5,
}
# The trouble crawl: few attempts, short backoff and timeout, so that failing takes seconds.
TROUBLE_OPTIONS: dict[str, object] = {
    "user_agent": USER_AGENT,
    "per_host_concurrency": 4,
    "per_host_rate": 0,
    "max_attempts": 3,
    "backoff_base": 0.2,
    "request_timeout": 1,
}


@dataclass
class Crawl:
    plan: Plan
    run: Run
    hits: HitLog
    max_in_flight: dict[str, int]
    pages: dict[str, StoredPage]
    failures: dict[str, StoredFailure]


@pytest.fixture(scope="session", autouse=True)
def clean_tables() -> Iterator[None]:
    """This run's tables have a prefix of their own; they are dropped at the end, and so are
    those a killed earlier run left behind (never those of a run still going)."""
    claim = RunTables()
    drop_abandoned_tables()
    yield
    claim.close()


def crawl_once(
    site: LocalSite,
    plan: Plan,
    name: str,
    workdir: Path,
    options: dict[str, object],
    timeout: float,
) -> Crawl:
    prefix = table_prefix(name)
    command = scraper_command(plan.seeds, prefix, **options)
    run = run_scraper(command, workdir, name, timeout)
    return Crawl(
        plan,
        run,
        HitLog(site.hits()),
        site.max_in_flight(),
        read_pages(prefix),
        read_failures(prefix),
    )


@pytest.fixture(scope="session")
def catalogue_crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """The two-host catalogue with every special resource, crawled politely."""
    site = LocalSite(("a", "b", "x"))
    site.start()
    try:
        plan = catalogue(site, CATALOGUE_PAGES_PER_HOST, specials=True, slow_share=0.04)
        workdir = tmp_path_factory.mktemp("catalogue")
        return crawl_once(site, plan, "catalogue", workdir, CATALOGUE_OPTIONS, timeout=75)
    finally:
        site.stop()


@pytest.fixture(scope="session")
def trouble_crawl(tmp_path_factory: pytest.TempPathFactory) -> Crawl:
    """The trouble host, whose resources fail in scripted ways."""
    site = LocalSite(("t",))
    site.start()
    try:
        plan = trouble(site)
        workdir = tmp_path_factory.mktemp("trouble")
        return crawl_once(site, plan, "trouble", workdir, TROUBLE_OPTIONS, timeout=45)
    finally:
        site.stop()
