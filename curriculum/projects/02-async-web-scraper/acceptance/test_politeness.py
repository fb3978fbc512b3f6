"""Politeness, measured by the servers during the catalogue crawl: how many of your requests
were in flight on each host at once, and how closely they followed one another.

The crawl runs with --per-host-concurrency 4 --per-host-rate 40. About 4 % of the pages take
0.2-0.6 s to answer, and host b has 24 reports of 0.4 s each, all linked from one page: a
crawler without a cap piles requests onto the slow host.
"""

from conftest import CATALOGUE_OPTIONS, Crawl

CAP = int(str(CATALOGUE_OPTIONS["per_host_concurrency"]))
RATE = float(str(CATALOGUE_OPTIONS["per_host_rate"]))


def test_it_never_has_more_requests_in_flight_per_host_than_the_cap(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    for host in ("a", "b"):
        peak = crawl.max_in_flight.get(host, 0)
        assert peak <= CAP, (
            f"host {host} had {peak} of your requests in flight at once; "
            f"--per-host-concurrency {CAP} caps that per host (an asyncio.Semaphore per host, "
            "held from sending the request until the body is read, robots.txt and retries "
            "included)"
        )
    assert max(crawl.max_in_flight.values()) >= 2, (
        "no host ever had two of your requests in flight: the crawl is sequential, and the "
        "throughput test will fail; the cap is a ceiling, use it"
    )


def test_it_spaces_the_requests_to_each_host_by_the_rate_limit(catalogue_crawl: Crawl) -> None:
    crawl = catalogue_crawl
    crawl.run.require_success()
    for host in ("a", "b"):
        starts = [hit.start for hit in crawl.hits.on(host)]
        assert len(starts) > RATE, f"host {host} received only {len(starts)} requests"
        # The busiest one-second window (the servers' clocks jitter on a loaded machine, so a
        # quarter is allowed on top; a burst-then-refill token bucket would show up to 2x).
        busiest, first = 0, 0
        for last, start in enumerate(starts):
            while start - starts[first] >= 1.0:
                first += 1
            busiest = max(busiest, last - first + 1)
        allowed = int(RATE * 1.25) + 2
        assert busiest <= allowed, (
            f"host {host} received {busiest} requests within one second; with --per-host-rate "
            f"{RATE:g} the starts of two requests to one host are at least 1/{RATE:g} s apart, "
            f"so no second holds more than about {RATE:g} (allowed: {allowed}). Space every "
            "request, not only the first of a burst"
        )
        mean = (len(starts) - 1) / (starts[-1] - starts[0])
        assert mean <= RATE * 1.1, (
            f"host {host} received requests at {mean:.1f}/s on average over the crawl; the "
            f"limit is {RATE:g}/s per host"
        )
