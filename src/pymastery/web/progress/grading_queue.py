"""Cohort grading through Celery: queue a submission, claim it once, record its verdict once.

The task carries only the submission's id and is sent after the transaction that created the row
commits. Workers acknowledge late, so a worker killed mid-grading leaves the message to be delivered
again; claiming is an atomic UPDATE that only succeeds on a queued submission or on one whose
claim has outlived its lease, and the verdict is recorded only under the claim that is current.
So a lost worker loses no submission, and no submission gets two verdicts.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from pymastery.core.grading import GradeResult, grade
from pymastery.core.model import Exercise
from pymastery.web.progress.actions import record_attempt
from pymastery.web.progress.models import Submission


def submit(learner: User, section: str, source: str) -> Submission:
    """Store the submission and, once that is committed, queue its grading."""
    from pymastery.workers.tasks import grade_submission

    with transaction.atomic():
        submission = Submission.objects.create(learner=learner, section=section, source=source)
        transaction.on_commit(lambda: grade_submission.delay(submission.pk))
    return submission


def lost_submissions(now: datetime) -> QuerySet[Submission]:
    """Submissions that look forgotten: still queued, or claimed by a worker whose lease ran out,
    and nothing sent for a lease's length. A broker that lost its messages (Redis keeps none on
    disk here) then costs a delay, not a submission; sending twice is safe because claiming is
    exclusive."""
    lease = timedelta(seconds=settings.PYMASTERY_GRADING_LEASE)
    stale = Q(state=Submission.State.QUEUED) | Q(
        state=Submission.State.RUNNING, claimed_at__lt=now - lease
    )
    return Submission.objects.filter(stale, sent_at__lt=now - lease)


def resend_if_lost(submission_id: int) -> bool:
    """Send the grading task again if this submission is lost (see `lost_submissions`)."""
    from pymastery.workers.tasks import grade_submission

    now = timezone.now()
    if not lost_submissions(now).filter(pk=submission_id).update(sent_at=now):
        return False
    grade_submission.delay(submission_id)
    return True


def resend_lost() -> int:
    """Send the grading task again for every lost submission; what Celery Beat runs, so that a
    submission nobody is watching is graded too. Returns how many were sent."""
    lost = list(lost_submissions(timezone.now()).values_list("pk", flat=True))
    return sum(resend_if_lost(submission_id) for submission_id in lost)


@dataclass(frozen=True)
class Claim:
    submission: Submission
    token: str


def claim(submission_id: int, worker: str) -> Claim | None:
    """Take the submission for grading, unless it is done or another worker's claim is fresh."""
    now = timezone.now()
    lease = timedelta(seconds=settings.PYMASTERY_GRADING_LEASE)
    token = secrets.token_hex(16)
    taken = (
        Submission.objects.filter(pk=submission_id)
        .filter(
            Q(state=Submission.State.QUEUED)
            | Q(state=Submission.State.RUNNING, claimed_at__lt=now - lease)
        )
        .update(
            state=Submission.State.RUNNING,
            claim_token=token,
            claimed_by=worker,
            claimed_at=now,
            claims=F("claims") + 1,
        )
    )
    if not taken:
        return None
    return Claim(Submission.objects.get(pk=submission_id), token)


def lease_left(submission_id: int) -> float | None:
    """Seconds until another worker's claim expires; None when there is nothing left to grade."""
    submission = Submission.objects.filter(pk=submission_id).first()
    if submission is None or submission.state == Submission.State.DONE:
        return None
    if submission.claimed_at is None:
        return 0.0
    expires = submission.claimed_at + timedelta(seconds=settings.PYMASTERY_GRADING_LEASE)
    return max((expires - timezone.now()).total_seconds(), 0.0) + 0.5


def finish(claim: Claim, result: GradeResult) -> bool:
    """Record the verdict if this claim is still the current one; False if it was overtaken."""
    with transaction.atomic():
        current = Submission.objects.select_for_update().get(pk=claim.submission.pk)
        if current.state != Submission.State.RUNNING or current.claim_token != claim.token:
            return False
        current.attempt = record_attempt(current.learner, current.section, result, current.source)
        current.state = Submission.State.DONE
        current.finished_at = timezone.now()
        current.save(update_fields=["attempt", "state", "finished_at"])
        return True


def grade_claimed(claim: Claim, exercise: Exercise) -> GradeResult:
    with tempfile.TemporaryDirectory(prefix="pymastery-submission-") as folder:
        path = Path(folder) / exercise.spec.file
        path.write_text(claim.submission.source, encoding="utf-8")
        return grade(exercise, path, sandbox=settings.PYMASTERY_GRADING_SANDBOX)
