"""Cleanup: Celery Beat runs docpipe.cleanup_expired_jobs, which deletes finished jobs older
than the retention (DOCPIPE_JOB_RETENTION; the suite sets an hour) and nothing else.

The suite does not wait for a schedule: it checks the beat schedule your app declares, and
sends the task to the running workers itself, the way Beat would. Three finished jobs are
aged by rewriting their timestamps: one finished two hours ago, one ten minutes ago, and one
is put back in 'processing' with a creation date three days old (an unfinished job is never
deleted, however old).
"""

from datetime import timedelta
from typing import Any

from support import (
    CLEANUP_EVERY,
    NAMESPACE,
    RETENTION,
    ApiServer,
    Cluster,
    document,
    job_states,
    ledger_counts,
    query,
    time_left,
)

TASK = "docpipe.cleanup_expired_jobs"


def run_cleanup(workers: Cluster, **kwargs: Any) -> Any:
    """Send the task the way Beat does, and wait for what it returns."""
    from celery.exceptions import TimeoutError as ResultTimeout
    from docpipe.worker import app

    result = app.send_task(TASK, kwargs=kwargs)
    try:
        return result.get(timeout=max(1.0, time_left(20)))
    except ResultTimeout:
        raise AssertionError(
            f"{TASK} was sent to {NAMESPACE}.maintenance and no result came back within 20 s. "
            "Do the workers consume that queue (declare it in task_queues), and does the task "
            f"return the number of jobs it deleted?{workers.explain()}"
        ) from None


def seconds_of(schedule: Any) -> float | None:
    """The interval of a beat_schedule entry: a number, a timedelta or a celery schedule."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    run_every = getattr(schedule, "run_every", None)
    return run_every.total_seconds() if isinstance(run_every, timedelta) else None


def test_beat_schedules_the_cleanup_on_the_maintenance_queue() -> None:
    from docpipe.worker import app

    entries = [
        entry for entry in (app.conf.beat_schedule or {}).values() if entry.get("task") == TASK
    ]
    assert len(entries) == 1, (
        f"app.conf.beat_schedule has one entry whose task is {TASK!r}: {app.conf.beat_schedule}"
    )
    interval = seconds_of(entries[0]["schedule"])
    assert interval == CLEANUP_EVERY, (
        f"the cleanup runs every DOCPIPE_CLEANUP_EVERY seconds ({CLEANUP_EVERY} in this run), "
        f"not {entries[0]['schedule']!r}"
    )
    route = app.amqp.router.route({}, TASK)
    assert route["queue"].name == f"{NAMESPACE}.maintenance", (
        f"{TASK} is routed to {NAMESPACE}.maintenance so that a backlog of pages never delays "
        f"it; it goes to {route['queue'].name}"
    )


def test_cleanup_deletes_only_jobs_finished_longer_ago_than_the_retention(
    workers: Cluster, api: ApiServer
) -> None:
    ids = [
        api.submit(document(f"Bank statement {index}", 2, seed=500 + index)) for index in range(3)
    ]
    workers.wait_for_jobs(ids, timeout=30)
    old, recent, unfinished = ids
    query(
        "UPDATE {jobs} SET finished_at = clock_timestamp() - interval '2 hours' WHERE id = %s",
        old,
    )
    query(
        "UPDATE {jobs} SET finished_at = clock_timestamp() - interval '10 minutes' WHERE id = %s",
        recent,
    )
    query(
        "UPDATE {jobs} SET state = 'processing', finished_at = NULL,"
        " created_at = clock_timestamp() - interval '3 days' WHERE id = %s",
        unfinished,
    )
    deleted = run_cleanup(workers)
    remaining = job_states(ids)
    assert old not in remaining, (
        f"a job that finished 2 hours ago is deleted when the retention is {RETENTION} s"
    )
    assert recent in remaining, "a job that finished 10 minutes ago is kept"
    assert unfinished in remaining, "a job still processing is never deleted"
    assert deleted == 1, f"the task returns how many jobs it deleted (1 here), not {deleted!r}"
    leftovers = query(
        "SELECT (SELECT count(*) FROM {pages} WHERE job_id = %s),"
        " (SELECT count(*) FROM {attempts} WHERE job_id = %s)",
        old,
        old,
    )[0]
    assert leftovers == (0, 0), (
        f"a deleted job's pages and attempts go with it (ON DELETE CASCADE): {leftovers}"
    )
    billed = ledger_counts([old])
    assert billed.get((old, "job", None)) == 1 and len(billed) == 3, (
        f"the ledger is billing history and outlives cleanup: {billed}"
    )

    deleted = run_cleanup(workers, max_age_seconds=300)
    remaining = job_states(ids)
    assert recent not in remaining and unfinished in remaining, (
        "with max_age_seconds=300 the job finished 10 minutes ago goes too; the unfinished "
        f"one stays: {remaining}"
    )
    assert isinstance(deleted, int) and deleted >= 1, deleted
