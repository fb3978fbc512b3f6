"""Transient failures are retried with exponential backoff; permanent ones fail the job.

The suite runs the workers with DOCPIPE_RETRY_BACKOFF=0.4 and DOCPIPE_MAX_RETRIES=3: the waits
before retries 1, 2 and 3 are 0.4, 0.8 and 1.6 s (jitter may add up to 25 %), and a page gets
at most 4 attempts. Four documents are submitted together:

- flaky:    page 2 fails transiently 3 times, then succeeds on its 4th attempt;
- hopeless: page 1 fails transiently every time, so it runs out of retries;
- corrupt:  page 2 fails permanently, which no retry can fix;
- healthy:  nothing scripted; it must not suffer from the others.

Gaps are measured between the starts of consecutive attempts as your workers recorded them
(PostgreSQL's clock_timestamp()). Load on the machine can only lengthen them, so each gap must
be at least its wait, and the shorter of the two retried pages' gaps must stay near it and grow.
"""

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import pytest
from support import (
    BACKOFF,
    MAX_RETRIES,
    ApiServer,
    Cluster,
    attempts_of,
    document,
    expected_summary,
    ledger_counts,
)

JITTER = 1.25  # the specification allows up to 25 % of added jitter
SLACK = 6.0  # seconds a loaded machine may add to one wait
GROWTH = 0.6  # seconds: the third wait is 1.2 s longer than the first; a fixed one is not
RETRIED = (("flaky", 2), ("hopeless", 1))  # the pages that are retried 3 times


@dataclass
class Outcome:
    ids: dict[str, str]  # name -> job id
    documents: dict[str, dict[str, Any]]
    attempts: dict[tuple[str, int], list[dict[str, Any]]]  # (name, page) -> attempts


@pytest.fixture(scope="module")
def outcome(cluster: Cluster, api: ApiServer) -> Outcome:
    cluster.ensure()
    documents = {
        "flaky": document("Flaky scan", 3, seed=21, priority=5),
        "hopeless": document("Hopeless scan", 2, seed=22, priority=5),
        "corrupt": document("Corrupt scan", 3, seed=23, priority=5),
        "healthy": document("Healthy scan", 4, seed=24, priority=5),
    }
    documents["flaky"]["pages"][1]["fail_times"] = 3
    documents["hopeless"]["pages"][0]["fail_times"] = 50
    documents["corrupt"]["pages"][1]["corrupt"] = True
    ids = {name: api.submit(payload) for name, payload in documents.items()}
    cluster.wait_for_jobs(list(ids.values()), timeout=30)
    names = {job_id: name for name, job_id in ids.items()}
    attempts: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for attempt in attempts_of(ids.values()):
        attempts.setdefault((names[attempt["job_id"]], attempt["page"]), []).append(attempt)
    return Outcome(ids, documents, attempts)


def describe(attempts: list[dict[str, Any]]) -> str:
    if not attempts:
        return "no attempts recorded"
    first = attempts[0]["started_at"]
    return ", ".join(
        f"+{(a['started_at'] - first).total_seconds():.2f} s {a['outcome']}" for a in attempts
    )


def test_a_transient_failure_is_retried_until_the_page_succeeds(
    outcome: Outcome, api: ApiServer
) -> None:
    attempts = outcome.attempts.get(("flaky", 2), [])
    outcomes = [attempt["outcome"] for attempt in attempts]
    assert outcomes == ["retry", "retry", "retry", "succeeded"], (
        "a page scripted to fail 3 times runs 4 times: three attempts recorded as 'retry', the "
        f"fourth 'succeeded' (max retries is {MAX_RETRIES}). Recorded: {describe(attempts)}"
    )
    shown = api.status(outcome.ids["flaky"])
    assert shown["state"] == "succeeded", f"the flaky job succeeds in the end: {shown}"
    assert shown["result"] == expected_summary(outcome.documents["flaky"]), shown
    assert [page["attempts"] for page in shown["pages"]] == [1, 4, 1], (
        f"GET /jobs/{{id}} shows each page's attempts: {shown['pages']}"
    )


def test_retries_wait_with_exponential_backoff(outcome: Outcome) -> None:
    measured: list[list[float]] = []
    shown = []
    for name, page in RETRIED:
        attempts = outcome.attempts.get((name, page), [])
        assert len(attempts) == MAX_RETRIES + 1, (
            f"the {name} job's page {page} runs {MAX_RETRIES + 1} times: {describe(attempts)}"
        )
        starts = [attempt["started_at"] for attempt in attempts]
        gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(starts)]
        for retry, gap in enumerate(gaps):
            wait = BACKOFF * 2**retry
            assert gap >= 0.9 * wait, (
                f"{name} page {page}: retry {retry + 1} started {gap:.2f} s after the attempt "
                f"before it; the backoff asks for at least {wait:.2f} s "
                f"(DOCPIPE_RETRY_BACKOFF × 2^{retry}). Full jitter (a random wait from 0 up) "
                f"or a fixed countdown does not meet it. Attempts: {describe(attempts)}"
            )
        measured.append(gaps)
        shown.append(f"{name} page {page}: {describe(attempts)}")
    # A busy machine lengthens one gap or another; the shorter of the two is the better measure.
    best = [min(pair) for pair in zip(*measured, strict=True)]
    for retry, gap in enumerate(best):
        wait = BACKOFF * 2**retry
        assert gap <= JITTER * wait + SLACK, (
            f"retry {retry + 1} waited {gap:.2f} s; the backoff asks for {wait:.2f} s (plus at "
            "most 25 % jitter). Is the base read from DOCPIPE_RETRY_BACKOFF, in seconds? "
            f"Attempts:\n    " + "\n    ".join(shown)
        )
    assert best[-1] - best[0] >= GROWTH, (
        f"the waits grow: {BACKOFF:g}, {2 * BACKOFF:g}, {4 * BACKOFF:g} s, doubling from "
        f"DOCPIPE_RETRY_BACKOFF; measured {[round(gap, 2) for gap in best]} s. A fixed "
        "countdown does not grow. Attempts:\n    " + "\n    ".join(shown)
    )


def test_a_page_that_keeps_failing_fails_its_job_after_max_retries(
    outcome: Outcome, api: ApiServer
) -> None:
    attempts = outcome.attempts.get(("hopeless", 1), [])
    assert len(attempts) == MAX_RETRIES + 1, (
        f"a page that always fails transiently gets 1 + DOCPIPE_MAX_RETRIES = "
        f"{MAX_RETRIES + 1} attempts, then gives up. Recorded: {describe(attempts)}"
    )
    assert attempts[-1]["outcome"] == "failed", (
        f"the last attempt is recorded 'failed': {describe(attempts)}"
    )
    shown = api.status(outcome.ids["hopeless"])
    assert shown["state"] == "failed", f"the job fails when a page fails for good: {shown}"
    assert shown["result"] is None and shown["finished_at"], shown
    assert isinstance(shown["error"], str) and "page 1" in shown["error"].lower(), (
        f"the job's error names the page ('page 1') and the reason: {shown['error']!r}"
    )
    assert shown["pages"][0]["state"] == "failed", shown["pages"]


def test_a_permanent_failure_is_not_retried(outcome: Outcome, api: ApiServer) -> None:
    attempts = outcome.attempts.get(("corrupt", 2), [])
    assert [attempt["outcome"] for attempt in attempts] == ["failed"], (
        "a corrupt page fails on its first attempt and is not retried: retrying what cannot "
        f"succeed only delays the answer and wastes workers. Recorded: {describe(attempts)}"
    )
    shown = api.status(outcome.ids["corrupt"])
    assert shown["state"] == "failed" and shown["error"], (
        f"the job with a corrupt page is 'failed' with an error message: {shown}"
    )


def test_failed_jobs_are_not_summarised_and_others_are_unaffected(
    outcome: Outcome, api: ApiServer
) -> None:
    shown = api.status(outcome.ids["healthy"])
    assert shown["state"] == "succeeded", (
        f"a healthy job submitted beside failing ones succeeds: {shown}"
    )
    assert shown["result"] == expected_summary(outcome.documents["healthy"]), shown
    counts = ledger_counts(outcome.ids.values())
    for name in ("hopeless", "corrupt"):
        job_id = outcome.ids[name]
        assert counts.get((job_id, "job", None), 0) == 0, (
            f"the {name} job failed, so its chord callback never ran and it has no 'job' ledger row"
        )
    billed = [key for key in counts if key[0] == outcome.ids["flaky"] and key[1] == "page"]
    assert len(billed) == 3 and all(counts[key] == 1 for key in billed), (
        f"the flaky job's pages are billed once each, retries included: {counts}"
    )
