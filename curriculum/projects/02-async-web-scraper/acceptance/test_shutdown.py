"""Graceful shutdown and resumption: one crawl of a 3,000-page catalogue in three runs.

1. The suite starts the crawl and, once a fifth of the pages have been served, sends SIGINT to
   the scraper's whole process group, as Ctrl-C in a terminal does (worker processes included).
2. It starts the same command again and, past 55 % of the pages, sends SIGTERM to the scraper's
   process alone, as `kill PID`, systemd or a container runtime does.
3. It starts the same command a third time and lets it finish.

After a signal the scraper has 10 seconds to stop: it starts no new request, lets the requests
in flight finish (the slowest page takes 0.6 s), stores every page it fetched together with the
links it found, and exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
"""

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from localsite import HitLog, LocalSite
from sites import USER_AGENT, Plan, catalogue
from support import Run, Scraper, StoredPage, listed, read_pages, scraper_command, table_prefix

PAGES_PER_HOST = 1500
CAP = 8
OPTIONS: dict[str, object] = {
    "user_agent": USER_AGENT,
    "per_host_concurrency": CAP,
    "per_host_rate": 0,
    "max_attempts": 3,
    "backoff_base": 0.2,
    "request_timeout": 5,
}
GRACE = 10.0
EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


@dataclass
class Stage:
    """One run of the scenario and what the table held when it was over."""

    signal: signal.Signals | None
    run: Run
    sent_at: float | None  # when the signal went out; None if it never did
    stored: dict[str, StoredPage]


@dataclass
class Scenario:
    plan: Plan
    hits: HitLog
    stages: list[Stage]


def staged_run(
    site: LocalSite,
    command: list[str],
    workdir: Path,
    label: str,
    prefix: str,
    stop_after: int | None,
    send: Callable[[Scraper], float] | None,
    sig: signal.Signals | None,
) -> Stage:
    scraper = Scraper(command, workdir, label)
    sent_at = None
    if stop_after is not None and send is not None:
        deadline = time.monotonic() + 60
        while scraper.running() and time.monotonic() < deadline:
            if site.served_pages() >= stop_after:
                sent_at = send(scraper)
                break
            time.sleep(0.005)
    run = scraper.wait(GRACE if sent_at is not None else 90)
    return Stage(sig, run, sent_at, read_pages(prefix))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    site = LocalSite(("a", "b", "x"))
    site.start()
    try:
        plan = catalogue(site, PAGES_PER_HOST, specials=False, slow_share=0.03, latency=0.02)
        prefix = table_prefix("resume")
        command = scraper_command(plan.seeds, prefix, **OPTIONS)
        workdir = tmp_path_factory.mktemp("resume")
        total = len(plan.pages)
        stages = [
            staged_run(
                site,
                command,
                workdir,
                "first-sigint",
                prefix,
                total // 5,
                Scraper.interrupt_group,
                signal.SIGINT,
            ),
            staged_run(
                site,
                command,
                workdir,
                "second-sigterm",
                prefix,
                total * 55 // 100,
                Scraper.terminate,
                signal.SIGTERM,
            ),
            staged_run(site, command, workdir, "third", prefix, None, None, None),
        ]
        return Scenario(plan, HitLog(site.hits()), stages)
    finally:
        site.stop()


def check_stopped(scenario: Scenario, index: int) -> None:
    stage = scenario.stages[index]
    assert stage.signal is not None
    name, code = stage.signal.name, EXIT_CODES[stage.signal]
    run = stage.run
    if stage.sent_at is None:
        raise AssertionError(
            f"run {index + 1} ended (exit code {run.returncode}) before the suite could send "
            f"{name}: it must still be crawling when {index * 35 + 20} % of the pages are "
            f"served{run.explain()}"
        )
    if run.returncode is None:
        raise AssertionError(
            f"run {index + 1} did not exit within {GRACE:g} s of {name}: stop starting requests, "
            f"let those in flight finish, flush what is pending, close the session and the "
            f"pool, and return{run.explain()}"
        )
    hint = {
        -stage.signal: f"it was killed by {name}: no handler was installed, or it re-raised",
        0: "exit code 0 means a finished crawl; an interrupted one has more to do",
        1: "exit code 1 means an error",
    }.get(run.returncode, "")
    assert run.returncode == code, (
        f"after {name} the scraper exits with code {code} (128 + {int(stage.signal)}), telling "
        f"the shell or supervisor it stopped on request with its state saved; it exited "
        f"{run.returncode}. {hint}{run.explain()}"
    )
    late = [hit for hit in scenario.hits if run.covers(hit) and hit.start > stage.sent_at]
    limit = 2 * 2 * CAP
    assert len(late) <= limit, (
        f"{len(late)} requests reached the servers after {name} was sent; once the signal "
        f"arrives no new request starts (the {2 * CAP} in flight may finish; {limit} allowed)"
    )


def check_nothing_lost(scenario: Scenario, index: int) -> None:
    stage = scenario.stages[index]
    site = scenario.plan.site
    served = {
        site.url(hit.host, hit.target)
        for hit in scenario.hits
        if stage.run.covers(hit) and hit.status == 200 and hit.target != "/robots.txt"
    }
    assert served, f"run {index + 1} fetched no page at all{stage.run.explain()}"
    lost = [url for url in served if url not in stage.stored]
    assert not lost, (
        f"{len(lost)} of the {len(served)} pages served during run {index + 1} were not in the "
        "pages table after it stopped. Every fetched page is stored before exit: let fetches "
        f"in flight finish and flush the write buffer on shutdown{listed(lost)}"
    )
    expected = scenario.plan.pages
    wrong = [url for url in served if stage.stored[url].body_sha256 != expected[url].sha256]
    assert not wrong, f"stored with the wrong body digest:{listed(wrong)}"


def test_sigint_to_the_process_group_stops_the_crawl_cleanly(scenario: Scenario) -> None:
    check_stopped(scenario, 0)


def test_every_page_fetched_before_sigint_is_stored(scenario: Scenario) -> None:
    check_stopped(scenario, 0)
    check_nothing_lost(scenario, 0)


def test_sigterm_stops_the_crawl_cleanly_and_keeps_every_fetched_page(scenario: Scenario) -> None:
    check_stopped(scenario, 1)
    check_nothing_lost(scenario, 1)


def test_a_rerun_resumes_without_refetching_a_stored_page_and_completes(
    scenario: Scenario,
) -> None:
    final = scenario.stages[2]
    final.run.require_success()
    site = scenario.plan.site
    for index in (1, 2):
        before = scenario.stages[index - 1].stored
        refetched = {
            site.url(hit.host, hit.target)
            for hit in scenario.hits
            if scenario.stages[index].run.covers(hit) and site.url(hit.host, hit.target) in before
        }
        assert not refetched, (
            f"run {index + 1} requested {len(refetched)} pages that run {index} had already "
            "stored. A rerun loads its frontier from the database and fetches only what is "
            f"still pending:{listed(refetched)}"
        )
    stored = {url for url, page in final.stored.items() if page.status == 200}
    missing = scenario.plan.pages.keys() - stored
    assert not missing, (
        f"after the third run {len(missing)} pages of the site are missing: links found on a "
        "page must be saved in the frontier in the same transaction as the page, or a page "
        f"stored just before a signal takes its links with it:{listed(missing)}"
    )
