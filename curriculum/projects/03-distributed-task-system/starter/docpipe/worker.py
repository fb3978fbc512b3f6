"""The Celery application and its tasks: `celery -A docpipe.worker worker` runs them.

Delivery is at-least-once: a message is acknowledged only after its task returns
(task_acks_late), so a worker killed mid-task leaves the message unacknowledged and RabbitMQ
delivers it again to another worker. Every task is therefore written to be run twice safely.
"""

import logging
import time
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init

from docpipe.config import settings
from docpipe.documents import PageSpec, analyse_page
from docpipe.store import reset_after_fork

logger = logging.getLogger(__name__)
config = settings()

app = Celery("docpipe", broker=config.broker_url, backend=config.result_backend)
# TODO: configure the app (spec.md, "Celery configuration"):
# - two queues on a direct exchange named after the namespace: {namespace}.pages, declared
#   with x-max-priority (kombu: Queue(..., max_priority=9)), the default for every task, and
#   {namespace}.maintenance, where task_routes sends docpipe.cleanup_expired_jobs;
# - late acknowledgement, requeue when a pool process is lost, prefetch multiplier 1;
# - result keys prefixed with "{namespace}:" (result_backend_transport_options);
# - a beat_schedule entry running docpipe.cleanup_expired_jobs every config.cleanup_every s.


class TransientPageError(Exception):
    """The recognition service did not answer; the same page may well succeed later."""


class CorruptPageError(Exception):
    """The page cannot be recognised at all; retrying cannot help."""


class PageFailed(Exception):
    """A page failed for good; its job is marked failed."""


@worker_process_init.connect
def forget_parent_connections(**_: Any) -> None:
    reset_after_fork()


def recognise(number: int, spec: PageSpec, attempt: int) -> dict[str, Any]:
    """The simulated OCR call: slow, and scripted by the document to fail."""
    time.sleep(spec.ocr_seconds)
    if spec.corrupt:
        raise CorruptPageError(f"page {number} is corrupt and cannot be recognised")
    if attempt < spec.fail_times:
        raise TransientPageError(
            f"recognition service unavailable for page {number} "
            f"(simulated failure {attempt + 1} of {spec.fail_times})"
        )
    return analyse_page(number, spec.text)


@app.task(bind=True, name="docpipe.process_page", max_retries=None)
def process_page(self: Task[Any, Any], job_id: str, number: int) -> dict[str, Any]:
    """Recognise one page, bill it once, upload its preview; the result feeds the chord.

    The steps, in order (spec.md, "A page task"):
    1. record the attempt (worker = self.request.hostname, redelivered from
       self.request.delivery_info);
    2. if an earlier delivery already recorded the page, skip to 5 with its stored result;
    3. recognise(number, spec, self.request.retries): on TransientPageError retry with
       countdown config.backoff(retries), or fail the page and the job once the retries are
       used up; on CorruptPageError fail them at once; record each attempt's outcome;
    4. in one transaction, store the result and bill the page (Store.record_page);
    5. sleep spec.preview_seconds (the preview upload), finish the attempt, return the result.
    """
    raise NotImplementedError("TODO: process_page")


@app.task(name="docpipe.combine_pages")
def combine_pages(results: list[dict[str, Any]], job_id: str) -> dict[str, Any]:
    """The chord's callback: combine the page results into the job's summary, once.

    Order the results by their page number, then store the summary, finish the job and bill
    it in one transaction (Store.record_summary), and return the summary.
    """
    raise NotImplementedError("TODO: combine_pages")


@app.task(name="docpipe.cleanup_expired_jobs")
def cleanup_expired_jobs(max_age_seconds: float | None = None) -> int:
    """Delete finished jobs older than max_age_seconds (default DOCPIPE_JOB_RETENTION) and
    return how many were deleted."""
    raise NotImplementedError("TODO: cleanup_expired_jobs")
