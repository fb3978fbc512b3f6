"""What a learner has done: exercise attempts, hints revealed, quiz answers.

Sections are referred to by their key ("5.3"): the catalog, not the database, holds content.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class ExerciseAttempt(models.Model):
    class Status(models.TextChoices):
        PASS = "pass"
        FAIL = "fail"
        ERROR = "error"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exercise_attempts"
    )
    section = models.CharField(max_length=8, db_index=True)
    status = models.CharField(max_length=5, choices=Status.choices)
    passed_tests = models.PositiveSmallIntegerField(default=0)
    total_tests = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField()
    source = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["learner", "section", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.section} {self.status} ({self.passed_tests}/{self.total_tests})"


class HintReveal(models.Model):
    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hint_reveals"
    )
    section = models.CharField(max_length=8)
    revealed = models.PositiveSmallIntegerField(default=0)
    solution_shown = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "section"], name="one_hint_counter_per_section"
            )
        ]

    def __str__(self) -> str:
        return f"{self.section}: {self.revealed} hints"


class QuizAnswer(models.Model):
    class Kind(models.TextChoices):
        MULTIPLE_CHOICE = "mc", "multiple choice"
        DISCUSSION = "discussion"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiz_answers"
    )
    section = models.CharField(max_length=8, db_index=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    question = models.PositiveSmallIntegerField()
    chosen_option = models.PositiveSmallIntegerField(null=True, blank=True)
    correct = models.BooleanField(null=True)
    answer_text = models.TextField(blank=True)
    rubric_met = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.section} {self.kind}[{self.question}]"


class ReviewCard(models.Model):
    """One multiple-choice question in a learner's spaced-repetition deck (FSRS state as JSON)."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_cards"
    )
    section = models.CharField(max_length=8)
    question = models.PositiveSmallIntegerField()
    card = models.JSONField()
    due = models.DateTimeField()
    reviews = models.PositiveIntegerField(default=0)
    lapses = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["learner", "section", "question"], name="one_card_per_question"
            )
        ]
        indexes = [models.Index(fields=["learner", "due"])]

    def __str__(self) -> str:
        return f"{self.section}[{self.question}] due {self.due:%Y-%m-%d %H:%M}"


class SectionVisit(models.Model):
    """A learner opened a lesson: the dashboard's 'sections read'."""

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="section_visits"
    )
    section = models.CharField(max_length=8)
    first_read_at = models.DateTimeField(auto_now_add=True)
    last_read_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["learner", "section"], name="one_visit_row_per_section")
        ]

    def __str__(self) -> str:
        return f"{self.section} read"


class Submission(models.Model):
    """Code sent for grading on a cohort server; a Celery worker claims it, grades it once."""

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"

    learner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    section = models.CharField(max_length=8)
    source = models.TextField()
    state = models.CharField(max_length=7, choices=State.choices, default=State.QUEUED)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claims = models.PositiveSmallIntegerField(default=0)
    attempt = models.OneToOneField(
        ExerciseAttempt, null=True, blank=True, on_delete=models.SET_NULL, related_name="submission"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(default=timezone.now)  # the grading task last sent
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.section} by {self.learner_id}: {self.state}"
