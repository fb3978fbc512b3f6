"""One polite crawl of the two-host catalogue, checked from both ends: the rows your scraper
stored, and the requests the two servers received.

The catalogue has 600 pages in a tree under "/" on hosts a and b, plus drafts, members-only
pages, a text file, an image, a 5 MB sitemap, slow reports, redirects and missing pages (see
sites.py). The crawl runs with --per-host-concurrency 4 --per-host-rate 40 --max-redirects 3
--max-attempts 3.
"""

import itertools

from conftest import Crawl
from sites import USER_AGENT
from support import listed


def test_it_stores_every_reachable_page_once_with_its_title_and_digest(
    catalogue_crawl: Crawl,
) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    expected = crawl.plan.pages
    stored = {url: page for url, page in crawl.pages.items() if page.status == 200}
    missing = expected.keys() - stored.keys()
    assert not missing, (
        f"{len(missing)} of the {len(expected)} pages reachable from the seeds were not "
        f"stored with status 200:{listed(missing)}"
    )
    unexpected = stored.keys() - expected.keys()
    assert not unexpected, (
        f"{len(unexpected)} stored pages are not pages of the site under their normalised URL "
        "(no fragment, dot segments removed, lowercase scheme, no empty '?'); each page is "
        f"stored once, under its normalised URL:{listed(unexpected)}"
    )
    wrong_digest = [url for url, page in expected.items() if stored[url].body_sha256 != page.sha256]
    assert not wrong_digest, (
        "body_sha256 must be the hex SHA-256 of the response body bytes exactly as received "
        f"(before any decoding):{listed(wrong_digest)}"
    )
    wrong_title = [
        f"{url}: stored {stored[url].title!r}, expected {page.title!r}"
        for url, page in expected.items()
        if stored[url].title != page.title
    ]
    assert not wrong_title, (
        "title is the text of <title> with entities decoded and runs of whitespace collapsed to "
        f"one space, stripped; NULL for anything that is not HTML:{listed(wrong_title, 4)}"
    )
    types = {url: stored[url].content_type for url in stored if "/files/" in url}
    assert sorted(map(str, types.values())) == ["image/png", "text/plain"], (
        "content_type is the media type of the Content-Type header without its parameters "
        f"(text/plain, not 'text/plain; charset=utf-8'); got {types}"
    )


def test_it_requests_each_url_once_however_the_links_are_written(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    repeated = {
        f"{host}{target} requested {len(hits)} times"
        for (host, target), hits in crawl.hits.per_target().items()
        if len(hits) > 1
    }
    assert not repeated, (
        "the catalogue links to the same page as /p/7, 7, ./7, ../p/7, /p/./7, /p/7#details, "
        "/p/7?, HTTP://127.0.0.1:PORT/p/7 and //127.0.0.1:PORT/p/7; normalise every link and "
        "remember every URL you have queued, so that each one is requested once (nothing on "
        f"this site needs a retry):{listed(repeated)}"
    )


def test_it_reads_robots_txt_before_anything_else_and_obeys_its_own_group(
    catalogue_crawl: Crawl,
) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    for host in ("a", "b"):
        hits = crawl.hits.on(host)
        assert hits, f"host {host} received no request at all"
        robots = crawl.hits.to(host, "/robots.txt")
        assert len(robots) == 1, (
            f"host {host} received {len(robots)} requests for /robots.txt; fetch it once per "
            "host and run, before any other request to that host, and keep the rules"
        )
        early = [hit.target for hit in hits if hit is not robots[0] and hit.start < robots[0].end]
        assert hits[0] is robots[0] and not early, (
            f"host {host}: these requests started before /robots.txt had been answered; wait "
            f"for the rules before the first page request:{listed(early)}"
        )
    disallowed = {
        f"{hit.host}{hit.target}"
        for hit in crawl.hits
        if "robots" in (crawl.plan.why_forbidden(hit.host, hit.target) or "")
    }
    assert not disallowed, (
        f"robots.txt on host a disallows these for {USER_AGENT!r}, yet they were requested "
        f"(redirect targets included):{listed(disallowed)}"
    )
    drafts = [url for url in crawl.plan.pages if "/drafts/" in url]
    not_stored = [url for url in drafts if url not in crawl.pages]
    assert not not_stored, (
        "robots.txt disallows /drafts/ only in the 'User-agent: *' group; the scraper's own "
        "group (User-agent: cap2-acceptance-bot) allows it, and a crawler obeys the most "
        f"specific group that matches its name, ignoring '*' entirely:{listed(not_stored)}"
    )


def test_it_stays_on_the_seed_hosts_and_follows_only_a_href_in_html(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    outside = [f"{hit.host}{hit.target}" for hit in crawl.hits if hit.host not in ("a", "b")]
    assert not outside, (
        "links and a redirect lead to a third host that is not the origin of any seed URL; "
        f"the crawl stays on the seeds' origins (scheme, host and port):{listed(outside)}"
    )
    wrong = {
        f"{hit.host}{hit.target}: {why}"
        for hit in crawl.hits
        if (why := crawl.plan.why_forbidden(hit.host, hit.target)) and "robots" not in why
    }
    assert not wrong, f"these should never have been requested:{listed(wrong)}"


def test_it_sends_its_user_agent_with_every_request(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    agents = {hit.user_agent for hit in crawl.hits}
    assert agents == {USER_AGENT}, (
        f"every request, robots.txt included, must carry User-Agent: {USER_AGENT} (the "
        f"--user-agent option); the servers saw {sorted(map(str, agents))}"
    )


def test_it_follows_redirects_through_its_frontier_up_to_the_cap(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    plan = crawl.plan
    stored = {
        url: (page.status, page.location)
        for url, page in crawl.pages.items()
        if 300 <= page.status < 400
    }
    missing = [
        f"{url} -> {location}"
        for url, location in plan.redirects.items()
        if url not in stored or stored[url][1] != location
    ]
    assert not missing, (
        "a redirect is stored as a page row with the 3xx status and, in location, the "
        "normalised absolute URL it points to (relative Locations resolved against the "
        f"request URL); missing or different:{listed(missing)}"
    )
    statuses = {url: status for url, (status, _) in stored.items() if url.endswith("/r/cross")}
    assert list(statuses.values()) == [308], f"the status is stored as received: {statuses}"
    chain_end = next(url for url in plan.failures if url.endswith("/r/chain/3"))
    failure = crawl.failures.get(chain_end)
    assert failure is not None and failure.reason == "too_many_redirects", (
        "/r/chain/k redirects to /r/chain/k+1 for ever. With --max-redirects 3, /r/chain/0 → 1 "
        "→ 2 → 3 are followed and the redirect /r/chain/3 answers is not: record "
        f"{chain_end} in failures with reason 'too_many_redirects'; got {failure}"
    )
    loops = {hit.target for hit in crawl.hits if hit.target.startswith("/r/loop/")}
    assert loops == {"/r/loop/a", "/r/loop/b"}, (
        f"/r/loop/a and /r/loop/b redirect to each other; each is requested once: {loops}"
    )


def test_it_records_a_missing_page_as_a_failure_after_one_request(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    missing_pages = {
        url: want for url, want in crawl.plan.failures.items() if want.reason == "http_status"
    }
    assert len(missing_pages) >= 3
    for url in missing_pages:
        got = crawl.failures.get(url)
        assert got is not None, f"{url} answered 404 and is not in the failures table"
        assert (got.reason, got.status, got.attempts) == ("http_status", 404, 1), (
            f"{url} answered 404: a client error is final, so record reason 'http_status', "
            f"status 404, attempts 1 (no retry); got {got}"
        )
        assert url not in crawl.pages, f"{url} is a failure, not a page"
    extra = crawl.failures.keys() - crawl.plan.failures.keys()
    assert not extra, f"nothing else on this site fails, yet these were recorded:{listed(extra)}"


def test_it_keeps_crawling_while_a_huge_page_is_parsed(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    sitemap = crawl.hits.to("a", "/sitemap")
    assert sitemap, "/sitemap (linked from the home page of host a) was never requested"
    since = [sitemap[0].end] + [hit.start for hit in crawl.hits if hit.start > sitemap[0].end]
    longest = max((later - earlier for earlier, later in itertools.pairwise(since)), default=0.0)
    assert longest < 1.0, (
        f"after /sitemap (5 MB, 120,000 links) was served, {longest:.2f} s passed without a "
        "single request starting, on either host, although the crawl was far from done. "
        "Parsing a page that size takes seconds of CPU: done on the event loop it "
        "stalls every connection. Hand big pages to a ProcessPoolExecutor (or a thread) and "
        "keep the other workers fetching meanwhile"
    )
