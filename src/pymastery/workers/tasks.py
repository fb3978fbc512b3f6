"""Grading tasks: the argument is a submission id, never the code itself."""

from __future__ import annotations

import logging
import os
import socket

from celery import Task, shared_task

logger = logging.getLogger(__name__)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def grade_submission(self: Task[[int], str], submission_id: int) -> str:
    """Claim, grade in the sandbox, record. Returns what happened, for the worker's log."""
    from pymastery.core.grading import GradeResult
    from pymastery.web.learn.catalog import catalog
    from pymastery.web.progress import grading_queue

    worker = f"{socket.gethostname()}:{os.getpid()}"
    claim = grading_queue.claim(submission_id, worker)
    if claim is None:
        wait = grading_queue.lease_left(submission_id)
        if wait is None:
            logger.info("submission %s: already graded", submission_id)
            return "skipped"
        logger.info("submission %s: claimed elsewhere; trying again in %.0f s", submission_id, wait)
        raise self.retry(countdown=wait, max_retries=None)
    section = catalog().section(claim.submission.section)
    if section is None or section.content is None:
        result = GradeResult(
            status="error", message=f"Section {claim.submission.section} has no exercise."
        )
    else:
        result = grading_queue.grade_claimed(claim, section.content.exercise)
    recorded = grading_queue.finish(claim, result)
    logger.info("submission %s: %s (%s)", submission_id, result.status, worker)
    return result.status if recorded else "overtaken"


@shared_task(ignore_result=True)
def resend_lost_submissions() -> int:
    """Celery Beat's sweep: queue again every submission the broker lost or a dead worker held."""
    from pymastery.web.progress import grading_queue

    sent = grading_queue.resend_lost()
    if sent:
        logger.warning("re-sent %d lost submissions", sent)
    return sent
