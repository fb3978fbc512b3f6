"""Throughput: the 3,000-page catalogue crawled with generous limits, timed by the servers.

The rate is the number of pages stored divided by the time from the first request the servers
received to the moment the scraper process exited, so interpreter start-up does not count,
and storing the last pages does. The floor is about a third of what the reference
implementation reaches on a busy two-core machine; the measured rate is printed.
"""

import pytest
from localsite import HitLog, LocalSite
from sites import USER_AGENT, catalogue
from support import listed, read_pages, run_scraper, scraper_command, table_prefix

FLOOR = 100.0  # pages per second
PAGES_PER_HOST = 1500
OPTIONS: dict[str, object] = {
    "user_agent": USER_AGENT,
    "per_host_concurrency": 16,
    "per_host_rate": 0,
    "request_timeout": 10,
}


def test_it_crawls_the_catalogue_faster_than_the_floor(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    site = LocalSite(("a", "b", "x"))
    site.start()
    try:
        plan = catalogue(site, PAGES_PER_HOST, specials=False, slow_share=0.02, latency=0.05)
        prefix = table_prefix("throughput")
        command = scraper_command(plan.seeds, prefix, **OPTIONS)
        run = run_scraper(command, tmp_path_factory.mktemp("throughput"), "throughput", 90)
        hits = HitLog(site.hits())
    finally:
        site.stop()
    run.require_success()
    stored = {url for url, page in read_pages(prefix).items() if page.status == 200}
    missing = plan.pages.keys() - stored
    assert not missing, f"the crawl is incomplete; not stored:{listed(missing)}"
    assert len(hits), "the servers saw no request"
    seconds = run.ended - min(hit.start for hit in hits)
    rate = len(stored) / seconds
    print(
        f"throughput: {len(stored)} pages in {seconds:.2f} s = {rate:.0f} pages/s (floor {FLOOR:g})"
    )
    assert rate >= FLOOR, (
        f"{len(stored)} pages in {seconds:.2f} s is {rate:.0f} pages/s; the floor is {FLOOR:g}. "
        "Usual causes: one request at a time, a new ClientSession or database connection per "
        "page, one INSERT and commit per page instead of batched writes, or parsing that "
        "blocks the event loop"
    )
