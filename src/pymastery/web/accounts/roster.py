"""A cohort's progress, one row per learner, in a fixed number of queries whatever its size."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, Max, Q
from django.utils import timezone

from pymastery.web.accounts.models import Cohort
from pymastery.web.progress.dashboard import module_of
from pymastery.web.progress.models import ExerciseAttempt, QuizAnswer, ReviewCard, SectionVisit


@dataclass
class LearnerRow:
    learner: User
    sections_read: int = 0
    exercises_passed: int = 0
    attempts: int = 0
    quiz_answered: int = 0
    quiz_correct: int = 0
    reviews_due: int = 0
    last_active: datetime | None = None
    passed_by_module: Counter[int] = field(default_factory=Counter)

    @property
    def quiz_accuracy(self) -> float | None:
        return self.quiz_correct / self.quiz_answered if self.quiz_answered else None

    def seen(self, moment: datetime | None) -> None:
        if moment is not None and (self.last_active is None or moment > self.last_active):
            self.last_active = moment


def roster(cohort: Cohort) -> list[LearnerRow]:
    rows = {learner.pk: LearnerRow(learner) for learner in cohort.learners()}
    ids = list(rows)
    now = timezone.now()

    visits = (
        SectionVisit.objects.filter(learner__in=ids)
        .values("learner")
        .annotate(read=Count("id"), last=Max("last_read_at"))
    )
    for visit in visits:
        rows[visit["learner"]].sections_read = visit["read"]
        rows[visit["learner"]].seen(visit["last"])

    passed_sections: dict[int, set[str]] = defaultdict(set)
    attempts = ExerciseAttempt.objects.filter(learner__in=ids)
    for learner_id, section, status in attempts.values_list("learner", "section", "status"):
        rows[learner_id].attempts += 1
        if status == ExerciseAttempt.Status.PASS:
            passed_sections[learner_id].add(section)
    for last in attempts.values("learner").annotate(last=Max("created_at")):
        rows[last["learner"]].seen(last["last"])
    for learner_id, sections in passed_sections.items():
        rows[learner_id].exercises_passed = len(sections)
        rows[learner_id].passed_by_module = Counter(module_of(s) for s in sections)

    answers = (
        QuizAnswer.objects.filter(learner__in=ids, kind=QuizAnswer.Kind.MULTIPLE_CHOICE)
        .values("learner")
        .annotate(answered=Count("id"), correct=Count("id", filter=Q(correct=True)))
        .annotate(last=Max("created_at"))
    )
    for answer in answers:
        rows[answer["learner"]].quiz_answered = answer["answered"]
        rows[answer["learner"]].quiz_correct = answer["correct"]
        rows[answer["learner"]].seen(answer["last"])

    due = (
        ReviewCard.objects.filter(learner__in=ids, due__lte=now)
        .values("learner")
        .annotate(due=Count("id"))
    )
    for card in due:
        rows[card["learner"]].reviews_due = card["due"]

    return list(rows.values())
