"""The producer side: validate a document, store the job, then enqueue its chord.

The order matters. The job and its pages are committed first and only then are the messages
published: a task published inside the transaction could start before the commit and find no
page to work on.
"""

import logging
from collections.abc import Mapping
from typing import Any

from docpipe.documents import Document
from docpipe.store import get_store

logger = logging.getLogger(__name__)


def create_tables() -> None:
    """Create the namespace's tables if they do not exist (safe to call from many processes)."""
    get_store().create_tables()


def submit(document: Document | Mapping[str, Any]) -> str:
    """Validate and enqueue a document; returns the new job's id. Raises InvalidDocument.

    A uuid4 id; the job and pages committed (Store.insert_job); then
    chord(one process_page signature per page, each with the job's priority)
    (combine_pages signature with the job id and the priority). If publishing fails, mark the
    job failed rather than leave it queued forever, and re-raise.
    """
    raise NotImplementedError("TODO: submit")


def job_status(job_id: str) -> dict[str, Any] | None:
    """The job as GET /jobs/{id} shows it, or None if there is no such job."""
    return get_store().job_status(job_id)
