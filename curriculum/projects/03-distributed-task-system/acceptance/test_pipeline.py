"""The chord pipeline: one task per page, a callback that combines their results, and a
status API that shows the job moving.

Five documents of 1 to 8 pages are submitted over HTTP to three running workers. Each page
task's result is a plain function of the page's text, so the suite computes every summary on
its own and compares.
"""

import time
from dataclasses import dataclass
from typing import Any

import pytest
from support import (
    ApiServer,
    Cluster,
    attempts_of,
    document,
    expected_summary,
    ledger_counts,
    listed,
    page_result,
    query,
    time_left,
)

SIZES = (1, 3, 5, 8, 2)


@dataclass
class Batch:
    documents: dict[str, dict[str, Any]]  # job id -> the document submitted
    states: dict[str, str]


@pytest.fixture(scope="module")
def batch(cluster: Cluster, api: ApiServer) -> Batch:
    cluster.ensure()
    documents = {}
    for index, pages in enumerate(SIZES):
        payload = document(f"Contract {index}", pages, seed=100 + index, priority=index % 3)
        documents[api.submit(payload)] = payload
    states = cluster.wait_for_jobs(list(documents), timeout=30)
    return Batch(documents, states)


def test_every_job_succeeds_with_the_summary_of_its_pages(batch: Batch, api: ApiServer) -> None:
    for job_id, payload in batch.documents.items():
        shown = api.status(job_id)
        assert shown["state"] == "succeeded", (
            f"job {job_id} ({len(payload['pages'])} pages, no scripted failures) ends "
            f"'succeeded', not {shown['state']!r}; error: {shown.get('error')}"
        )
        expected = expected_summary(payload)
        assert shown["result"] == expected, (
            f"job {job_id}: the result is the chord callback's combination of the page "
            f"results, in page order.\n  expected {expected}\n  got      {shown['result']}"
        )
        assert shown["pages_done"] == shown["pages_total"] == len(payload["pages"]), shown
        assert all(page["state"] == "succeeded" for page in shown["pages"]), shown["pages"]
        assert shown["finished_at"], f"a finished job has finished_at: {shown}"


def test_page_results_are_stored_per_page(batch: Batch) -> None:
    rows = query(
        "SELECT job_id::text, number, result FROM {pages} WHERE job_id = ANY(%s::uuid[])",
        list(batch.documents),
    )
    stored = {(job_id, number): result for job_id, number, result in rows}
    wrong = []
    for job_id, payload in batch.documents.items():
        for number, page in enumerate(payload["pages"], 1):
            expected = page_result(number, page["text"])
            if stored.get((job_id, number)) != expected:
                wrong.append(f"{job_id} page {number}: {stored.get((job_id, number))}")
    assert not wrong, (
        "each page row's result is {page, words, characters, sha256} of its text "
        f"(words: text.split(); sha256 of the UTF-8 bytes):{listed(wrong)}"
    )


def test_each_page_and_each_job_is_billed_exactly_once(batch: Batch) -> None:
    counts = ledger_counts(batch.documents)
    problems = []
    for job_id, payload in batch.documents.items():
        for number in range(1, len(payload["pages"]) + 1):
            count = counts.get((job_id, "page", number), 0)
            if count != 1:
                problems.append(f"{job_id} page {number}: {count} 'page' ledger rows")
        count = counts.get((job_id, "job", None), 0)
        if count != 1:
            problems.append(f"{job_id}: {count} 'job' ledger rows (the chord callback's effect)")
    assert not problems, (
        "every page is billed once ('page' row) and every finished job once ('job' row, "
        f"written by the chord callback together with the summary):{listed(problems)}"
    )


def test_a_page_that_never_failed_ran_once(batch: Batch) -> None:
    attempts = attempts_of(batch.documents)
    per_page: dict[tuple[str, int], int] = {}
    for attempt in attempts:
        key = (attempt["job_id"], attempt["page"])
        per_page[key] = per_page.get(key, 0) + 1
    expected = sum(len(payload["pages"]) for payload in batch.documents.values())
    assert len(per_page) == expected, (
        f"every page execution is recorded in the attempts table when it starts; "
        f"{len(per_page)} of {expected} pages have attempts"
    )
    repeated = [f"{key}: {count} attempts" for key, count in per_page.items() if count != 1]
    assert not repeated, f"no worker died and no page failed, so each ran once:{listed(repeated)}"


def test_progress_is_visible_while_the_job_runs(workers: Cluster, api: ApiServer) -> None:
    """Six pages whose recognition takes 0.3, 0.6, … 1.8 s finish one after another; polling
    GET /jobs/{id} must see the job 'processing' with some but not all pages done."""
    payload = document("Progress report", 6, seed=7, priority=9)
    for number, page in enumerate(payload["pages"], 1):
        page["ocr_seconds"] = 0.3 * number
    job_id = api.submit(payload)
    seen: list[tuple[str, int]] = []
    deadline = time.monotonic() + time_left(30)
    while time.monotonic() < deadline:
        shown = api.status(job_id)
        seen.append((shown["state"], shown["pages_done"]))
        if shown["state"] in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    final = api.status(job_id)
    assert final["state"] == "succeeded", f"the job ends 'succeeded': {final}{workers.explain()}"
    assert final["result"] == expected_summary(payload), final
    done = [count for _, count in seen]
    assert done == sorted(done), f"pages_done never goes down: {done}"
    partial = {count for state, count in seen if state == "processing" and 0 < count < 6}
    assert len(partial) >= 2, (
        "while pages finish one by one, GET /jobs/{id} shows state 'processing' and a "
        "pages_done that grows: count the pages that succeeded, and move the job from "
        f"'queued' to 'processing' when its first page starts. Observed (state, pages_done): "
        f"{sorted(set(seen), key=seen.index)}"
    )
