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
    # TODO: a job the jobs table does not know -> not_found / 404, whatever `meta` says.
    # TODO: no record (meta None, or status PENDING) -> queued, or expired / 410 once
    #       enqueued_age is greater than result_expires.
    # TODO: SUCCESS, FAILURE, RETRY, REVOKED, STARTED and any custom state, as in the table.
    raise NotImplementedError


def public_error(job_id: str, info: Any, public_errors: list[str] | None) -> dict[str, str]:
    """The error as the client may see it: a message only for exception types on the list."""
    # TODO: info is the stored exception: {"exc_type", "exc_message" (a list), "exc_module"}.
    raise NotImplementedError


def progress_of(info: dict[str, Any]) -> dict[str, int] | None:
    """{"done", "total", "percent"} from a progress meta, or None if it has no usable total."""
    # TODO: percent is 100 * done // total, kept between 0 and 100.
    raise NotImplementedError
