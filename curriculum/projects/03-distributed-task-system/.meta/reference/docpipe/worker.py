"""The Celery application and its tasks: `celery -A docpipe.worker worker` runs them.

Delivery is at-least-once: a message is acknowledged only after its task returns
(task_acks_late), so a worker killed mid-task leaves the message unacknowledged and RabbitMQ
delivers it again to another worker. Every task is therefore written to be run twice safely:
the page's bill and result commit together under an idempotency key, and the job's summary
commits together with its state change.
"""

import logging
import time
import uuid
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_init
from kombu import Exchange, Queue

from docpipe.config import settings
from docpipe.documents import PageSpec, analyse_page, summarise
from docpipe.store import get_store, reset_after_fork

logger = logging.getLogger(__name__)
config = settings()

exchange = Exchange(config.namespace, type="direct")
app = Celery("docpipe", broker=config.broker_url, backend=config.result_backend)
app.conf.update(
    task_queues=[
        # x-max-priority makes RabbitMQ deliver higher-priority messages first (0-9 here).
        Queue(config.pages_queue, exchange, routing_key="pages", max_priority=9),
        Queue(config.maintenance_queue, exchange, routing_key="maintenance"),
    ],
    task_default_queue=config.pages_queue,
    task_default_exchange=config.namespace,
    task_default_routing_key="pages",
    task_routes={"docpipe.cleanup_expired_jobs": {"queue": config.maintenance_queue}},
    task_acks_late=True,  # acknowledge after the task returns: a killed worker loses nothing
    task_reject_on_worker_lost=True,  # and requeue when only a pool process dies
    worker_prefetch_multiplier=1,  # hold one message per pool process, no more
    result_backend_transport_options={"global_keyprefix": f"{config.namespace}:"},
    result_expires=24 * 3600,
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "cleanup-expired-jobs": {
            "task": "docpipe.cleanup_expired_jobs",
            "schedule": config.cleanup_every,
        }
    },
)


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
    """Recognise one page, bill it once, upload its preview; the result feeds the chord."""
    store = get_store()
    key = uuid.UUID(job_id)
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    worker = str(self.request.hostname)
    attempt = store.start_attempt(key, number, worker, redelivered)
    if attempt is None:
        raise PageFailed(f"job {job_id} has no page {number} (deleted?)")
    retries = int(self.request.retries)
    if attempt.stored_result is not None:
        # An earlier delivery recorded the page and died before acknowledging: do not bill
        # again, but finish the work and return the stored result so the chord completes.
        logger.info("page %s of job %s was already recorded; not billing again", number, job_id)
        result = attempt.stored_result
    else:
        try:
            result = recognise(number, attempt.spec, retries)
        except TransientPageError as error:
            if retries >= config.max_retries:
                message = f"page {number}: {error}; gave up after {retries + 1} attempts"
                store.finish_attempt(attempt.id, "failed", str(error))
                store.fail_page(key, number, message)
                logger.error("job %s failed: %s", job_id, message)
                raise PageFailed(message) from error
            delay = config.backoff(retries)
            store.finish_attempt(attempt.id, "retry", f"{error}; retrying in {delay:.2f} s")
            logger.warning("%s; retry %d in %.2f s", error, retries + 1, delay)
            raise self.retry(countdown=delay, exc=error) from error
        except CorruptPageError as error:
            store.finish_attempt(attempt.id, "failed", str(error))
            store.fail_page(key, number, f"page {number}: {error}")
            logger.error("job %s failed: %s", job_id, error)
            raise PageFailed(str(error)) from error
        if not store.record_page(key, number, result):
            logger.info("page %s of job %s was billed by another delivery", number, job_id)
    time.sleep(attempt.spec.preview_seconds)  # the simulated preview upload
    store.finish_attempt(attempt.id, "succeeded")
    return result


@app.task(name="docpipe.combine_pages")
def combine_pages(results: list[dict[str, Any]], job_id: str) -> dict[str, Any]:
    """The chord's callback: combine the page results into the job's summary, once."""
    # Each header task counts once, however often it ran (Celery's Redis backend keys the
    # results by task id); order them by page number rather than trust the list's order.
    by_page = {int(result["page"]): result for result in results}
    summary = summarise(by_page[number] for number in sorted(by_page))
    if get_store().record_summary(uuid.UUID(job_id), summary):
        logger.info("job %s succeeded: %d pages, %d words", job_id, len(by_page), summary["words"])
    else:
        logger.info("job %s was already finished; summary not recorded again", job_id)
    return summary


@app.task(name="docpipe.cleanup_expired_jobs")
def cleanup_expired_jobs(max_age_seconds: float | None = None) -> int:
    """Delete finished jobs older than max_age_seconds (default DOCPIPE_JOB_RETENTION)."""
    max_age = config.job_retention if max_age_seconds is None else max_age_seconds
    deleted = get_store().delete_finished_before(max_age)
    logger.info("cleanup deleted %d jobs finished more than %g s ago", deleted, max_age)
    return deleted
