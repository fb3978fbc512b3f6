"""Retries, measured on the trouble host: which requests were repeated, how long the scraper
waited in between, and what it recorded when it gave up.

The crawl runs with --max-attempts 3 --backoff-base 0.2 --request-timeout 1 and
--per-host-concurrency 4 (no rate limit). The backoff before attempt k+1 is at least
backoff_base * 2**(k-1): 0.2 s, then 0.4 s. The servers timestamp each request, and a loaded
machine delays timestamps a little, so the suite accepts 80 % of each wait.
"""

import itertools

import pytest
from conftest import TROUBLE_OPTIONS, Crawl
from localsite import Hit
from sites import TROUBLE_PAGES

BASE = float(str(TROUBLE_OPTIONS["backoff_base"]))
ATTEMPTS = int(str(TROUBLE_OPTIONS["max_attempts"]))
SLACK = 0.8


def attempts(hits: list[Hit]) -> list[list[Hit]]:
    """Group requests less than 0.1 s apart: aiohttp itself repeats a GET at once, one time,
    when the connection fails before any byte of the response arrives (a reset or a closed
    keep-alive connection), so one attempt of yours can reach the server twice."""
    grouped: list[list[Hit]] = []
    for hit in hits:
        if grouped and hit.start - grouped[-1][-1].start < 0.1:
            grouped[-1].append(hit)
        else:
            grouped.append([hit])
    return grouped


def check_backoff(target: str, hits: list[Hit]) -> None:
    starts = [group[0].start for group in attempts(hits)]
    gaps = [round(later - earlier, 3) for earlier, later in itertools.pairwise(starts)]
    for attempt, gap in enumerate(gaps, start=1):
        least = BASE * 2 ** (attempt - 1)
        assert gap >= least * SLACK, (
            f"{target}: attempt {attempt + 1} started {gap:.3f} s after attempt {attempt}; the "
            f"backoff after {attempt} failed attempt(s) is at least {least:.2f} s "
            f"(backoff_base * 2**{attempt - 1}), so retries do not hammer a struggling server. "
            f"Gaps seen: {gaps}"
        )


@pytest.mark.parametrize(
    ("target", "requests", "story"),
    [
        pytest.param("/flaky", 3, "answers 503 twice, then 200", id="503 twice"),
        pytest.param(
            "/hang-once",
            2,
            "takes 2.5 s (beyond the 1 s timeout) the first time, then answers",
            id="Timeout once",
        ),
        pytest.param(
            "/cut-once",
            2,
            "resets the connection a third of the way into the body, then answers",
            id="Reset mid-body once",
        ),
        pytest.param(
            "/reset-once",
            2,
            "resets the connection before answering the first time, then answers",
            id="Reset before the response once",
        ),
    ],
)
def test_a_transient_failure_is_retried_with_backoff_and_the_page_stored(
    trouble_crawl: Crawl, target: str, requests: int, story: str
) -> None:
    crawl = trouble_crawl
    crawl.run.require_success()
    hits = crawl.hits.to("t", target)
    assert len(hits) == requests, (
        f"{target} {story}: it should be requested {requests} times, was requested {len(hits)} "
        "times (5xx, timeouts and connection errors are transient: retry them)"
    )
    check_backoff(target, hits)
    url = crawl.plan.site.url("t", target)
    page = crawl.pages.get(url)
    assert page is not None and page.status == 200, (
        f"{target} {story}; after the retry the page must be stored with status 200: {page}"
    )
    assert page.body_sha256 == crawl.plan.pages[url].sha256, (
        f"{target}: the digest must be that of the complete body of the successful attempt"
    )
    assert url not in crawl.failures, f"{target} succeeded in the end; it is not a failure"


@pytest.mark.parametrize(
    ("target", "reason", "status"),
    [
        pytest.param("/broken", "http_status", 503, id="Always 503"),
        pytest.param("/hang", "timeout", None, id="Always too slow"),
        pytest.param("/cut", "connection", None, id="Always reset mid-body"),
        pytest.param("/reset", "connection", None, id="Always reset before the response"),
    ],
)
def test_it_gives_up_after_max_attempts_and_records_the_failure(
    trouble_crawl: Crawl, target: str, reason: str, status: int | None
) -> None:
    crawl = trouble_crawl
    crawl.run.require_success()
    hits = crawl.hits.to("t", target)
    seen = attempts(hits)
    assert len(seen) == ATTEMPTS, (
        f"{target} fails every time ({reason}); with --max-attempts {ATTEMPTS} it is tried "
        f"{ATTEMPTS} times in all, then given up; the server saw {len(seen)} attempts "
        f"({len(hits)} requests)"
    )
    check_backoff(target, hits)
    url = crawl.plan.site.url("t", target)
    failure = crawl.failures.get(url)
    assert failure is not None, f"{target} was given up on but is not in the failures table"
    assert (failure.reason, failure.status, failure.attempts) == (reason, status, ATTEMPTS), (
        f"{target}: expected reason {reason!r}, status {status} (the last response's status; "
        f"NULL when there was no response) and attempts {ATTEMPTS}; got {failure}"
    )
    assert url not in crawl.pages, f"{target} never answered 200, so it is not a page"


@pytest.mark.parametrize(
    ("target", "status"),
    [pytest.param("/missing", 404, id="404"), pytest.param("/gone", 410, id="410")],
)
def test_a_client_error_is_never_retried(trouble_crawl: Crawl, target: str, status: int) -> None:
    crawl = trouble_crawl
    crawl.run.require_success()
    hits = crawl.hits.to("t", target)
    assert len(hits) == 1, (
        f"{target} answers {status}; a 4xx other than 429 will not change on a retry, so it "
        f"is requested once; it was requested {len(hits)} times"
    )
    failure = crawl.failures.get(crawl.plan.site.url("t", target))
    assert failure is not None and (failure.reason, failure.status, failure.attempts) == (
        "http_status",
        status,
        1,
    ), f"{target}: expected a failure row ('http_status', {status}, attempts 1); got {failure}"


def test_a_429_is_retried_after_retry_after_and_pauses_the_whole_host(
    trouble_crawl: Crawl,
) -> None:
    crawl = trouble_crawl
    crawl.run.require_success()
    throttled = crawl.hits.to("t", "/throttled")
    assert len(throttled) == 2, (
        "/throttled answers 429 with Retry-After: 1 the first time, then 200: it should be "
        f"requested twice, was requested {len(throttled)} times"
    )
    waited = throttled[1].start - throttled[0].start
    assert waited >= 0.9, (
        f"the retry of /throttled came {waited:.2f} s after the 429; Retry-After: 1 asks for "
        "at least one second (it overrides a shorter backoff)"
    )
    told = throttled[0].end
    during = [
        hit.target
        for hit in crawl.hits.on("t")
        if told + 0.2 < hit.start < told + 0.9 and hit is not throttled[1]
    ]
    cap = int(str(TROUBLE_OPTIONS["per_host_concurrency"]))
    assert len(during) < cap, (
        "a 429 means the whole host is over its limit, not one URL: after it, wait out the "
        "Retry-After before sending that host anything new. These requests started between "
        f"0.2 s and 0.9 s after the 429 was sent: {sorted(during)}"
    )
    stored = crawl.pages.get(crawl.plan.site.url("t", "/throttled"))
    assert stored is not None and stored.status == 200, "/throttled must be stored after its retry"


def test_the_rest_of_the_trouble_host_is_crawled_completely(trouble_crawl: Crawl) -> None:
    crawl = trouble_crawl
    crawl.run.require_success()
    stored = {url for url, page in crawl.pages.items() if page.status == 200}
    missing = crawl.plan.pages.keys() - stored
    assert not missing, (
        f"the trouble host has {TROUBLE_PAGES + 6} pages that answer sooner or later; one "
        f"URL's failures must not stop the others. Not stored: {sorted(missing)[:6]}"
    )
    repeated = [
        target
        for (_, target), hits in crawl.hits.per_target().items()
        if target.startswith("/p/") and len(hits) > 1
    ]
    assert not repeated, f"these healthy pages were requested more than once: {repeated[:6]}"
