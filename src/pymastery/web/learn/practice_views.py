"""Exercise and quiz pages: thin views over grading and the progress actions."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST

from pymastery.core.grading import GradeResult
from pymastery.core.model import MultipleChoice, Option, Section, SectionContent
from pymastery.core.render import render_markdown
from pymastery.core.warm_grader import WarmGrader
from pymastery.web.learn.views import get_module, get_section
from pymastery.web.progress import actions, grading_queue
from pymastery.web.progress.models import ExerciseAttempt, Submission

MAX_SOURCE_BYTES = 100_000


def written_section(key: str) -> tuple[Section, SectionContent]:
    section = get_section(key)
    if section.content is None:
        raise Http404(f"section {key} is not written yet")
    return section, section.content


def learner_of(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise Http404("sign in to practise")
    return user


@require_GET
def exercise_page(request: HttpRequest, key: str) -> HttpResponse:
    section, content = written_section(key)
    learner = learner_of(request)
    exercise = content.exercise
    source = actions.latest_source(learner, key) or exercise.starter.read_text(encoding="utf-8")
    revealed = actions.hints_revealed(learner, key)
    return render(
        request,
        "learn/exercise.html",
        {
            "section": section,
            "module": get_module(section.module_number),
            "exercise": exercise,
            "instructions": render_markdown(without_title(exercise.instructions)),
            "source": source,
            "hints": exercise.spec.hints[:revealed],
            "hints_left": len(exercise.spec.hints) - revealed,
            "solution": solution_text(learner, key, content),
            "can_check": can_check(),
        },
    )


def without_title(markdown_text: str) -> str:
    """Instructions may open with a `# title`; the page shows the title already."""
    first, _, rest = markdown_text.lstrip().partition("\n")
    return rest if first.startswith("# ") else markdown_text


def solution_text(learner: User, key: str, content: SectionContent) -> str | None:
    if actions.may_see_solution(learner, key):
        return content.exercise.solution.read_text(encoding="utf-8")
    return None


@require_POST
def exercise_check(request: HttpRequest, key: str) -> HttpResponse:
    section, content = written_section(key)
    learner = learner_of(request)
    if not can_check():
        return render(request, "learn/_grade_result.html", {"disabled": True})
    source = request.POST.get("source", "")
    if len(source.encode()) > MAX_SOURCE_BYTES:
        return HttpResponseBadRequest("Your file is larger than 100 KB.")
    if not settings.SINGLE_USER:
        submission = grading_queue.submit(learner, key, source)
        return render(request, "learn/_submission.html", {"submission": submission})
    result = grade_source(content, source)
    actions.record_attempt(learner, key, result, source)
    return verdict(request, learner, section, content, result)


def verdict(
    request: HttpRequest,
    learner: User,
    section: Section,
    content: SectionContent,
    result: GradeResult,
) -> HttpResponse:
    """Each test's result; after a pass, the reference solution too."""
    return render(
        request,
        "learn/_grade_result.html",
        {
            "result": result,
            "passed": sum(t.status == "pass" for t in result.tests),
            "section": section,
            "solution": solution_text(learner, section.key, content) if result.passed else None,
        },
    )


def can_check() -> bool:
    """Locally, always; on a cohort server only through the grading workers, never in-process."""
    return settings.SINGLE_USER or bool(settings.PYMASTERY_GRADING_BROKER)


@require_GET
def submission_status(request: HttpRequest, submission_id: int) -> HttpResponse:
    """Polled by the page until the learner's own submission is graded."""
    learner = learner_of(request)
    submission = get_object_or_404(Submission, pk=submission_id, learner=learner)
    if submission.state != Submission.State.DONE or submission.attempt is None:
        grading_queue.resend_if_lost(submission.pk)
        return render(request, "learn/_submission.html", {"submission": submission})
    section, content = written_section(submission.section)
    result = GradeResult.model_validate(submission.attempt.result)
    return verdict(request, learner, section, content, result)


@cache
def warm_grader() -> WarmGrader:
    """One per web process: pytest stays imported, each check is a fork (single-user mode)."""
    return WarmGrader()


def grade_source(content: SectionContent, source: str) -> GradeResult:
    with tempfile.TemporaryDirectory(prefix="pymastery-submission-") as folder:
        submission = Path(folder) / content.exercise.spec.file
        submission.write_text(source, encoding="utf-8")
        return warm_grader().grade(content.exercise, submission)


@require_POST
def exercise_hint(request: HttpRequest, key: str) -> HttpResponse:
    _, content = written_section(key)
    hints = content.exercise.spec.hints
    revealed = actions.reveal_next_hint(learner_of(request), key, len(hints))
    return render(
        request,
        "learn/_hints.html",
        {"hints": hints[:revealed], "hints_left": len(hints) - revealed, "key": key},
    )


@require_POST
def exercise_give_up(request: HttpRequest, key: str) -> HttpResponse:
    section, content = written_section(key)
    learner = learner_of(request)
    actions.show_solution(learner, key)
    return render(
        request,
        "learn/_solution.html",
        {"solution": solution_text(learner, key, content), "section": section},
    )


@require_GET
def exercise_attempts(request: HttpRequest, key: str) -> HttpResponse:
    """The learner's own submissions for this exercise, newest first."""
    section, _ = written_section(key)
    attempts = ExerciseAttempt.objects.filter(learner=learner_of(request), section=key).defer(
        "source", "result"
    )
    return render(
        request,
        "learn/attempts.html",
        {
            "section": section,
            "module": get_module(section.module_number),
            "attempts": attempts.order_by("-created_at"),
        },
    )


@require_GET
def exercise_attempt(request: HttpRequest, key: str, attempt_id: int) -> HttpResponse:
    """One of the learner's own submissions; anyone else's id is a 404, as if it did not exist."""
    section, _ = written_section(key)
    attempt = get_object_or_404(
        ExerciseAttempt, pk=attempt_id, learner=learner_of(request), section=key
    )
    result = GradeResult.model_validate(attempt.result)
    return render(
        request,
        "learn/attempt.html",
        {
            "section": section,
            "module": get_module(section.module_number),
            "attempt": attempt,
            "result": result,
            "passed": sum(t.status == "pass" for t in result.tests),
        },
    )


@require_GET
def quiz_page(request: HttpRequest, key: str) -> HttpResponse:
    section, content = written_section(key)
    questions = [
        (index, question, render_markdown(question.question))
        for index, question in enumerate(content.quiz.multiple_choice)
    ]
    discussions = [
        (index, discussion, render_markdown(discussion.question))
        for index, discussion in enumerate(content.quiz.discussion)
    ]
    return render(
        request,
        "learn/quiz.html",
        {
            "section": section,
            "module": get_module(section.module_number),
            "questions": questions,
            "discussions": discussions,
        },
    )


@require_POST
def quiz_answer(request: HttpRequest, key: str, index: int) -> HttpResponse:
    _, content = written_section(key)
    questions = content.quiz.multiple_choice
    if not 0 <= index < len(questions):
        raise Http404("no such question")
    question = questions[index]
    chosen = chosen_option(request, question)
    if chosen is None:
        return HttpResponseBadRequest("Choose one of the four options.")
    correct = question.options[chosen].correct
    actions.record_choice(learner_of(request), key, index, chosen, correct)
    return render(
        request,
        "learn/_answer_feedback.html",
        {
            "question": question,
            "chosen": chosen,
            "correct": correct,
            "options": explained_options(question),
        },
    )


def chosen_option(request: HttpRequest, question: MultipleChoice) -> int | None:
    """The option index the learner posted, or None when it names no option."""
    raw = request.POST.get("option", "")
    if not raw.isdigit() or int(raw) >= len(question.options):
        return None
    return int(raw)


def explained_options(question: MultipleChoice) -> list[tuple[int, Option, str]]:
    return [
        (i, option, render_markdown(option.explanation))
        for i, option in enumerate(question.options)
    ]


@require_POST
def discussion_answer(request: HttpRequest, key: str, index: int) -> HttpResponse:
    _, content = written_section(key)
    discussions = content.quiz.discussion
    if not 0 <= index < len(discussions):
        raise Http404("no such question")
    discussion = discussions[index]
    answer = request.POST.get("answer", "").strip()
    met = sorted(
        {
            int(value)
            for value in request.POST.getlist("rubric")
            if value.isdigit() and int(value) < len(discussion.rubric)
        }
    )
    if "graded" in request.POST:
        actions.record_discussion(learner_of(request), key, index, answer, met)
        return render(
            request,
            "learn/_discussion_graded.html",
            {"met": len(met), "total": len(discussion.rubric)},
        )
    return render(
        request,
        "learn/_discussion_sample.html",
        {
            "key": key,
            "index": index,
            "answer": answer,
            "discussion": discussion,
            "sample": render_markdown(discussion.sample_answer),
        },
    )
