"""Recording and reading progress: the one place the CLI and the web app write it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from pymastery.core import review
from pymastery.web.progress.models import (
    ExerciseAttempt,
    HintReveal,
    QuizAnswer,
    ReviewCard,
    SectionVisit,
)

if TYPE_CHECKING:
    from pymastery.core.grading import GradeResult

LOCAL_LEARNER = "learner"


def local_learner() -> User:
    """The single user of single-user mode: no sign-up, one progress shared by CLI and web."""
    user, _ = User.objects.get_or_create(username=LOCAL_LEARNER)
    return user


def record_attempt(
    learner: User, section: str, result: GradeResult, source: str
) -> ExerciseAttempt:
    passed = sum(test.status == "pass" for test in result.tests)
    return ExerciseAttempt.objects.create(
        learner=learner,
        section=section,
        status=result.status,
        passed_tests=passed,
        total_tests=len(result.tests),
        result=result.model_dump(mode="json"),
        source=source,
    )


def reveal_next_hint(learner: User, section: str, available: int) -> int:
    """Reveal one more hint (up to `available`); returns how many are now revealed."""
    with transaction.atomic():
        counter, _ = HintReveal.objects.select_for_update().get_or_create(
            learner=learner, section=section
        )
        if counter.revealed < available:
            counter.revealed += 1
            counter.save(update_fields=["revealed", "updated_at"])
        return int(counter.revealed)


def hints_revealed(learner: User, section: str) -> int:
    counter = HintReveal.objects.filter(learner=learner, section=section).first()
    return counter.revealed if counter else 0


def record_choice(
    learner: User, section: str, question: int, chosen: int, correct: bool
) -> QuizAnswer:
    """A multiple-choice answer, in a quiz or a review; it also (re)schedules the card."""
    schedule(learner, section, question, correct)
    return QuizAnswer.objects.create(
        learner=learner,
        section=section,
        kind=QuizAnswer.Kind.MULTIPLE_CHOICE,
        question=question,
        chosen_option=chosen,
        correct=correct,
    )


def record_discussion(
    learner: User, section: str, question: int, answer: str, rubric_met: list[int]
) -> QuizAnswer:
    return QuizAnswer.objects.create(
        learner=learner,
        section=section,
        kind=QuizAnswer.Kind.DISCUSSION,
        question=question,
        answer_text=answer,
        rubric_met=rubric_met,
    )


def exercise_passed(learner: User, section: str) -> bool:
    return ExerciseAttempt.objects.filter(
        learner=learner, section=section, status=ExerciseAttempt.Status.PASS
    ).exists()


def section_states(learner: User | AnonymousUser) -> dict[str, str]:
    """Per section key: "passed" when the exercise passed, "tried" when attempted."""
    if not learner.is_authenticated:
        return {}
    states: dict[str, str] = {}
    rows = (
        ExerciseAttempt.objects.filter(learner=learner).values_list("section", "status").distinct()
    )
    for section, status in rows:
        if status == ExerciseAttempt.Status.PASS:
            states[section] = "passed"
        else:
            states.setdefault(section, "tried")
    return states


def show_solution(learner: User, section: str) -> None:
    """The learner gave up: the reference solution may be shown from now on."""
    HintReveal.objects.update_or_create(
        learner=learner, section=section, defaults={"solution_shown": True}
    )


def may_see_solution(learner: User, section: str) -> bool:
    return (
        exercise_passed(learner, section)
        or HintReveal.objects.filter(learner=learner, section=section, solution_shown=True).exists()
    )


def latest_source(learner: User, section: str) -> str | None:
    attempt = (
        ExerciseAttempt.objects.filter(learner=learner, section=section)
        .order_by("-created_at", "-id")
        .only("source")
        .first()
    )
    return attempt.source if attempt else None


def schedule(
    learner: User, section: str, question: int, correct: bool, now: datetime | None = None
) -> ReviewCard:
    now = now or timezone.now()
    with transaction.atomic():
        card = (
            ReviewCard.objects.select_for_update()
            .filter(learner=learner, section=section, question=question)
            .first()
        )
        scheduled = review.review(
            card.card if card else None, correct, now, fuzz=settings.PYMASTERY_REVIEW_FUZZ
        )
        if card is None:
            card = ReviewCard(learner=learner, section=section, question=question)
        card.card = scheduled.card_json
        card.due = scheduled.due
        card.reviews += 1
        card.lapses += not correct
        card.save()
        return card


def due_cards(learner: User, now: datetime | None = None) -> list[ReviewCard]:
    return list(
        ReviewCard.objects.filter(learner=learner, due__lte=now or timezone.now()).order_by(
            "due", "id"
        )
    )


def mark_read(learner: User, section: str) -> None:
    """Remember the first reading; later visits only read (no write on every page view)."""
    SectionVisit.objects.get_or_create(learner=learner, section=section)
