"""Tests for job_status: every state a result backend can hold, and nothing private leaks.

The records below have the shape the Redis backend stores (see the lesson's
redis_result_backend.py output): status, result, traceback, children, date_done, task_id.
"""

import json
from typing import Any

from job_status import job_status

JOB = "5f0c2a9e-8d1b-4c3e-9a57-2b1e0f6d4c21"
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/billing/tasks.py", line 88, in render_invoice\n'
    "    raise InvoiceLocked(...)\n"
    "billing.errors.InvoiceLocked: invoice 1042 was sent on 2025-03-01\n"
)


def record(status: str, result: Any = None, traceback: str | None = None) -> dict[str, Any]:
    """A result record as the backend stores it."""
    return {
        "status": status,
        "result": result,
        "traceback": traceback,
        "children": [],
        "date_done": "2025-05-02T10:15:00.123456+00:00",
        "task_id": JOB,
    }


def failure(exc_type: str, *args: Any) -> dict[str, Any]:
    info = {"exc_type": exc_type, "exc_message": list(args), "exc_module": "billing.errors"}
    return record("FAILURE", info, TRACEBACK)


def test_a_job_the_jobs_table_does_not_know_is_not_found_even_with_a_result() -> None:
    body = job_status(JOB, record("SUCCESS", {"invoice": "INV-1"}), enqueued_age=None)
    assert body == {"job_id": JOB, "status": "not_found", "http_status": 404}, (
        "an id missing from our own jobs table is 404 whatever the backend holds: a guessed "
        "or another tenant's task id must not reveal that task's result"
    )


def test_no_record_for_a_recent_job_means_queued() -> None:
    body = job_status(JOB, None, enqueued_age=12.5)
    assert body == {"job_id": JOB, "status": "queued", "http_status": 200}, (
        "no result record yet (AsyncResult.state would say PENDING) for a job we enqueued "
        "12 s ago: it is still waiting in the queue"
    )


def test_a_pending_record_is_treated_like_no_record() -> None:
    pending = {
        "status": "PENDING",
        "result": None,
        "task_id": JOB,
    }  # what a database row read gives
    body = job_status(JOB, pending, enqueued_age=3.0)
    assert body["status"] == "queued", "status PENDING is the backend's way of saying 'no record'"


def test_no_record_after_result_expires_means_expired() -> None:
    body = job_status(JOB, None, enqueued_age=90_000.0)
    assert body == {"job_id": JOB, "status": "expired", "http_status": 410}, (
        "enqueued 25 h ago with the default result_expires of one day: the record may have "
        "existed and expired, so the honest answer is 410 Gone, not 'queued'"
    )
    assert job_status(JOB, None, enqueued_age=600.0, result_expires=600.0)["status"] == "queued", (
        "exactly result_expires seconds old is not yet expired: only an age above it is"
    )
    assert job_status(JOB, None, enqueued_age=601.0, result_expires=600.0)["status"] == "expired"


def test_started_is_running_without_progress() -> None:
    started = record("STARTED", {"pid": 4242, "hostname": "celery@worker-3"})
    body = job_status(JOB, started, enqueued_age=1.0)
    assert body == {"job_id": JOB, "status": "running", "http_status": 200}, (
        "STARTED's info is the worker's pid and hostname: internal details the client "
        "must not see, and no progress"
    )


def test_a_progress_state_reports_stage_and_percent() -> None:
    progress = record("PROGRESS", {"done": 2, "total": 8, "rows": 500})
    body = job_status(JOB, progress, enqueued_age=40.0)
    assert body == {
        "job_id": JOB,
        "status": "running",
        "stage": "progress",
        "progress": {"done": 2, "total": 8, "percent": 25},
        "http_status": 200,
    }, "a custom state is 'running' with stage = the state in lower case, and done/total/percent"


def test_percent_is_an_integer_kept_between_0_and_100() -> None:
    third = job_status(JOB, record("EXPORTING", {"done": 1, "total": 3}), enqueued_age=1.0)
    assert third["progress"]["percent"] == 33, "percent is 100 * done // total, rounded down"
    over = job_status(JOB, record("EXPORTING", {"done": 9, "total": 8}), enqueued_age=1.0)
    assert over["progress"]["percent"] == 100, "a task that overshoots its total shows 100, not 112"


def test_a_progress_meta_without_a_usable_total_has_no_progress() -> None:
    for info in ({"done": 0, "total": 0}, {"done": 5}, {"stage": "uploading"}, None):
        body = job_status(JOB, record("UPLOADING", info), enqueued_age=1.0)
        assert body["status"] == "running" and body["stage"] == "uploading", (
            f"custom state with info {info!r} is still a running job"
        )
        assert "progress" not in body, (
            f"info {info!r}: without a positive total there is no percent to report "
            "(and dividing by zero must not turn the status call into a 500)"
        )


def test_success_returns_the_task_result() -> None:
    result = {"invoice_id": 1042, "pdf": "s3://invoices/1042.pdf", "total": 129.5}
    body = job_status(JOB, record("SUCCESS", result), enqueued_age=5.0)
    assert body == {"job_id": JOB, "status": "succeeded", "result": result, "http_status": 200}


def test_a_public_error_shows_its_type_and_message() -> None:
    body = job_status(
        JOB,
        failure("InvoiceLocked", "invoice 1042 was sent on 2025-03-01"),
        enqueued_age=5.0,
        public_errors=["InvoiceLocked", "CardDeclined"],
    )
    assert body == {
        "job_id": JOB,
        "status": "failed",
        "error": {"type": "InvoiceLocked", "message": "invoice 1042 was sent on 2025-03-01"},
        "http_status": 200,
    }, "a business error on the public list is shown: the status call worked, the job failed"
    several = job_status(
        JOB,
        failure("CardDeclined", 1042, "insufficient_funds"),
        enqueued_age=5.0,
        public_errors=["CardDeclined"],
    )
    assert several["error"]["message"] == "1042, insufficient_funds", (
        "exc_message holds the exception's args as a list: join them with ', '"
    )


def test_an_unlisted_error_leaks_neither_message_nor_traceback() -> None:
    body = job_status(
        JOB,
        failure("OperationalError", "could not connect to server at 10.0.3.7:5432"),
        enqueued_age=5.0,
        public_errors=["InvoiceLocked"],
    )
    assert body["status"] == "failed" and body["http_status"] == 200
    assert body["error"] == {
        "type": "InternalError",
        "message": f"internal error, reference {JOB}",
    }, (
        "an unexpected exception is reported as InternalError with the job id as a reference "
        "for support, never with its own message"
    )
    text = json.dumps(body)
    for secret in ("10.0.3.7", "Traceback", "/srv/billing", "billing.errors", "OperationalError"):
        assert secret not in text, f"{secret!r} leaked into the API body: {text}"


def test_with_no_public_errors_every_failure_is_internal() -> None:
    body = job_status(JOB, failure("InvoiceLocked", "sent"), enqueued_age=5.0)
    assert body["error"]["type"] == "InternalError", "public_errors defaults to an empty list"


def test_retry_and_revoked_states() -> None:
    retry = record("RETRY", {"exc_type": "GatewayTimeout", "exc_message": ["10.0.3.9 timed out"]})
    assert job_status(JOB, retry, enqueued_age=9.0) == {
        "job_id": JOB,
        "status": "retrying",
        "http_status": 200,
    }, "RETRY's info is the exception that caused the retry: not for the client"
    revoked = record("REVOKED", {"exc_type": "TaskRevokedError", "exc_message": ["expired"]})
    assert job_status(JOB, revoked, enqueued_age=9.0)["status"] == "cancelled"


def test_every_body_is_plain_json() -> None:
    cases = [
        (None, 1.0),
        (None, None),
        (record("SUCCESS", [1, 2, 3]), 1.0),
        (record("PROGRESS", {"done": 1, "total": 4}), 1.0),
        (failure("InvoiceLocked", "sent"), 1.0),
    ]
    for meta, age in cases:
        body = job_status(JOB, meta, enqueued_age=age, public_errors=["InvoiceLocked"])
        assert json.loads(json.dumps(body)) == body, f"not plain JSON: {body!r}"
        assert isinstance(body["http_status"], int), "http_status is an int the view returns"
