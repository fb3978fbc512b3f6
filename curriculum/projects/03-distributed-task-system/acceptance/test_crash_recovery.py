"""At-least-once delivery with idempotent tasks: a worker killed mid-task loses nothing and
bills nothing twice.

Six documents of four pages are submitted to three workers. Each page spends 0.1 s in
recognition and then, after its result and bill are committed, uploads its preview: 0.2 s,
except page 1 of each document, whose upload takes SLOW_PREVIEW seconds. The suite watches the
attempts and the ledger, and as soon as some worker is uploading a page 1 preview (the page
billed, the task not yet returned) it SIGKILLs that worker's whole process group: no handler
runs and nothing is acknowledged. The long upload is the suite's window: however busy the
machine, the worker is still inside it when the kill arrives.

With late acknowledgement RabbitMQ delivers the killed worker's messages again, to the other
workers. The page that was already billed runs a second time, and must not be billed again;
the pages that had not got that far must be processed; every job must finish.
"""

from dataclasses import dataclass
from datetime import datetime
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
    query,
    wait_until,
)

JOBS = 6
PAGES = 4
SLOW_PREVIEW = 3.0  # seconds: page 1's upload, the window in which the suite kills a worker


@dataclass
class Crash:
    documents: dict[str, dict[str, Any]]
    states: dict[str, str]
    victim: str  # the killed worker's hostname
    killed_at: datetime
    billed_when_killed: set[tuple[str, int]]  # pages the victim had billed and not returned
    attempts: list[dict[str, Any]]


def in_preview_phase(job_ids: list[str]) -> tuple[str, set[tuple[str, int]]] | None:
    """A worker uploading a page 1 preview, its page billed: (its hostname, those pages)."""
    rows = query(
        "SELECT a.worker, a.job_id::text, a.page_number FROM {attempts} a"
        " JOIN {ledger} l ON l.job_id = a.job_id AND l.kind = 'page'"
        " AND l.page_number = a.page_number"
        " WHERE a.finished_at IS NULL AND a.page_number = 1 AND a.job_id = ANY(%s::uuid[])"
        " ORDER BY a.started_at",
        job_ids,
    )
    if not rows:
        return None
    victim = rows[0][0]
    return victim, {(job_id, page) for worker, job_id, page in rows if worker == victim}


@pytest.fixture(scope="module")
def crash(cluster: Cluster, api: ApiServer) -> Crash:
    cluster.ensure()
    documents = {}
    for index in range(JOBS):
        payload = document(f"Invoice batch {index}", PAGES, seed=300 + index, priority=5)
        for number, page in enumerate(payload["pages"], 1):
            page.update(ocr_seconds=0.1, preview_seconds=SLOW_PREVIEW if number == 1 else 0.2)
        documents[api.submit(payload)] = payload
    job_ids = list(documents)
    victim, billed = wait_until(
        lambda: in_preview_phase(job_ids),
        30,
        lambda: (
            "no page 1 attempt was ever seen running with its page already billed. A page task "
            "records its attempt when it starts (finished_at NULL), commits the page result and "
            "its 'page' ledger row, sleeps preview_seconds, and only then sets finished_at"
            f"{cluster.explain()}"
        ),
        every=0.02,
    )
    worker = cluster.by_hostname(victim)
    assert worker is not None, (
        f"the attempt names worker {victim!r}, which the suite did not start: record the "
        f"worker's Celery hostname (self.request.hostname){cluster.explain()}"
    )
    # Read before the kill: every attempt that starts after this moment on another worker
    # started after the crash.
    killed_at = query("SELECT clock_timestamp()")[0][0]
    cluster.kill(victim)
    # What the victim left unfinished stays so forever: the pages it had billed and was still
    # uploading when it died.
    unfinished = {
        (a["job_id"], a["page"])
        for a in attempts_of(job_ids)
        if a["worker"] == victim and a["finished_at"] is None
    }
    states = cluster.wait_for_jobs(
        job_ids,
        timeout=30,
        hint=(
            f"\n  Worker {victim} was SIGKILLed mid-task. If its tasks never ran again, the "
            "messages were acknowledged when the tasks started: set task_acks_late=True."
        ),
    )
    return Crash(documents, states, victim, killed_at, billed & unfinished, attempts_of(job_ids))


def test_no_job_is_lost_when_a_worker_is_killed(crash: Crash, api: ApiServer) -> None:
    failed = [job_id for job_id, state in crash.states.items() if state != "succeeded"]
    assert not failed, (
        f"every job succeeds although worker {crash.victim} was SIGKILLed mid-task; these did "
        f"not:{listed(failed)}"
    )
    for job_id, payload in crash.documents.items():
        assert api.status(job_id)["result"] == expected_summary(payload), job_id


def test_the_killed_workers_tasks_were_delivered_again(crash: Crash) -> None:
    unfinished = {
        (a["job_id"], a["page"])
        for a in crash.attempts
        if a["worker"] == crash.victim and a["finished_at"] is None
    }
    assert unfinished, (
        f"the killed worker {crash.victim} has no unfinished attempt: the suite killed it "
        "while it ran a task, so one attempt at least must have stayed unfinished"
    )
    again = {
        (a["job_id"], a["page"]): a
        for a in crash.attempts
        if (a["job_id"], a["page"]) in unfinished
        and a["worker"] != crash.victim
        and a["started_at"] > crash.killed_at
    }
    lost = unfinished - again.keys()
    assert not lost, (
        "a task running on the killed worker must run again on another worker: acknowledge "
        "messages after the task (task_acks_late=True), so RabbitMQ redelivers those a dead "
        f"worker never acknowledged. Never run again:{listed(sorted(lost))}"
    )
    flagged = [key for key, attempt in again.items() if attempt["redelivered"]]
    assert flagged, (
        "the second deliveries of the killed worker's tasks carry RabbitMQ's redelivered "
        "flag; record it in attempts.redelivered from self.request.delivery_info"
    )


def test_a_page_billed_before_the_crash_is_not_billed_again(crash: Crash) -> None:
    rerun = {
        (a["job_id"], a["page"])
        for a in crash.attempts
        if (a["job_id"], a["page"]) in crash.billed_when_killed
        and a["worker"] != crash.victim
        and a["started_at"] > crash.killed_at
    }
    assert crash.billed_when_killed, (
        f"worker {crash.victim} was killed while it uploaded the preview of a billed page, so "
        "that page's attempt stays unfinished; none did. Set finished_at only after the upload"
    )
    assert rerun, (
        "the pages that were billed when the worker died must have been delivered again; "
        f"none of {sorted(crash.billed_when_killed)} ran after the kill"
    )
    counts = ledger_counts(crash.documents)
    twice = [f"{key}: {counts.get((key[0], 'page', key[1]), 0)} rows" for key in rerun]
    assert all(counts.get((job_id, "page", page)) == 1 for job_id, page in rerun), (
        "a page that was billed, then redelivered because its worker died before "
        "acknowledging, is billed once: make the ledger row's key the page's identity and "
        f"insert it with the result in one transaction (ON CONFLICT DO NOTHING), or find the "
        f"page already recorded and skip the billing:{listed(twice)}"
    )


def test_every_page_and_job_is_billed_exactly_once_after_the_crash(crash: Crash) -> None:
    counts = ledger_counts(crash.documents)
    problems = [
        f"{job_id} page {page}: {counts.get((job_id, 'page', page), 0)} rows"
        for job_id in crash.documents
        for page in range(1, PAGES + 1)
        if counts.get((job_id, "page", page), 0) != 1
    ]
    problems += [
        f"{job_id}: {counts.get((job_id, 'job', None), 0)} 'job' rows"
        for job_id in crash.documents
        if counts.get((job_id, "job", None), 0) != 1
    ]
    assert not problems, (
        "after redelivery, every page is billed exactly once and every job summarised "
        f"exactly once:{listed(problems)}"
    )
