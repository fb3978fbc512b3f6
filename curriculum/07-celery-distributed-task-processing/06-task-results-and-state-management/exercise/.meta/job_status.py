"""The body of GET /jobs/<job_id>: a Celery result record turned into a public API answer.

The endpoint reads two things and passes them in as plain values:

- `meta`: the decoded JSON of the result backend's record for the job (the
  `celery-task-meta-<id>` key on Redis, a row of `celery_taskmeta` on a database), or None
  when there is no record at all;
- `enqueued_age`: seconds since this service recorded the job in its own jobs table, or
  None when the jobs table has never heard of the id.

Nothing here talks to a broker or a backend, so every rule can be tested on its own.
"""

from __future__ import annotations

from typing import Any

ONE_DAY = 86_400.0  # Celery's default result_expires


def job_status(
    job_id: str,
    meta: dict[str, Any] | None,
    *,
    enqueued_age: float | None,
    result_expires: float = ONE_DAY,
    public_errors: list[str] | None = None,
) -> dict[str, Any]:
    """Return the JSON body for one job, with its HTTP status under "http_status".

    See instructions.md for the table of states; the body never carries a traceback.
    """
    body: dict[str, Any] = {"job_id": job_id}
    if enqueued_age is None:
        # Only jobs this service created are reported: a guessed or foreign id learns nothing.
        return {**body, "status": "not_found", "http_status": 404}

    state = meta.get("status", "PENDING") if meta else "PENDING"
    if state == "PENDING":
        # No record: still queued, or it finished so long ago that the record expired.
        if enqueued_age > result_expires:
            return {**body, "status": "expired", "http_status": 410}
        return {**body, "status": "queued", "http_status": 200}

    assert meta is not None
    info = meta.get("result")
    if state == "SUCCESS":
        return {**body, "status": "succeeded", "result": info, "http_status": 200}
    if state == "FAILURE":
        error = public_error(job_id, info, public_errors)
        return {**body, "status": "failed", "error": error, "http_status": 200}
    if state == "RETRY":
        return {**body, "status": "retrying", "http_status": 200}
    if state == "REVOKED":
        return {**body, "status": "cancelled", "http_status": 200}

    body.update(status="running", http_status=200)
    if state == "STARTED":
        return body
    body["stage"] = state.lower()
    if isinstance(info, dict):
        progress = progress_of(info)
        if progress is not None:
            body["progress"] = progress
    return body


def public_error(job_id: str, info: Any, public_errors: list[str] | None) -> dict[str, str]:
    """The error as the client may see it: a message only for exception types on the list."""
    exc_type = info.get("exc_type", "Exception") if isinstance(info, dict) else "Exception"
    if exc_type not in (public_errors or []):
        return {"type": "InternalError", "message": f"internal error, reference {job_id}"}
    args = info.get("exc_message", []) if isinstance(info, dict) else []
    if not isinstance(args, list):
        args = [args]
    return {"type": exc_type, "message": ", ".join(str(arg) for arg in args) or exc_type}


def progress_of(info: dict[str, Any]) -> dict[str, int] | None:
    """{"done", "total", "percent"} from a progress meta, or None if it has no usable total."""
    done, total = info.get("done"), info.get("total")
    if not isinstance(done, int) or not isinstance(total, int) or total <= 0:
        return None
    percent = min(100, max(0, 100 * done // total))
    return {"done": done, "total": total, "percent": percent}
