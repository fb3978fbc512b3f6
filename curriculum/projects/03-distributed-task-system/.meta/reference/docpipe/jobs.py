"""The producer side: validate a document, store the job, then enqueue its chord.

The order matters. The job and its pages are committed first and only then are the messages
published: a task published inside the transaction could start before the commit and find no
page to work on.
"""

import logging
import uuid
from collections.abc import Mapping
from typing import Any

from celery import chord

from docpipe.documents import Document, parse_document
from docpipe.store import get_store
from docpipe.worker import combine_pages, process_page

logger = logging.getLogger(__name__)


def create_tables() -> None:
    """Create the namespace's tables if they do not exist (safe to call from many processes)."""
    get_store().create_tables()


def submit(document: Document | Mapping[str, Any]) -> str:
    """Validate and enqueue a document; returns the new job's id. Raises InvalidDocument."""
    parsed = document if isinstance(document, Document) else parse_document(document)
    job_id = uuid.uuid4()
    store = get_store()
    store.insert_job(job_id, parsed)
    header = [
        process_page.signature((str(job_id), number), priority=parsed.priority)
        for number in range(1, len(parsed.pages) + 1)
    ]
    callback = combine_pages.signature((str(job_id),), priority=parsed.priority)
    try:
        chord(header)(callback)
    except Exception as error:
        store.fail_job(job_id, f"could not enqueue the job: {error}")
        raise
    logger.info(
        "job %s queued: %d pages at priority %d", job_id, len(parsed.pages), parsed.priority
    )
    return str(job_id)


def job_status(job_id: str) -> dict[str, Any] | None:
    """The job as GET /jobs/{id} shows it, or None if there is no such job."""
    return get_store().job_status(job_id)
