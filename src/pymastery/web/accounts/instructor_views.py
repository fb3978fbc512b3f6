"""The instructor's pages: their cohorts, each learner's progress and code, a CSV export.

An instructor sees only the cohorts they teach and only the learners in them; anyone else gets 404,
so the URLs do not even confirm that a cohort or a learner exists.
"""

from __future__ import annotations

import csv

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from pymastery.core.model import Grading
from pymastery.web.accounts.models import Cohort, Membership
from pymastery.web.accounts.roster import roster
from pymastery.web.learn.catalog import catalog
from pymastery.web.learn.practice_views import learner_of
from pymastery.web.progress import charts, dashboard
from pymastery.web.progress.models import ExerciseAttempt


def taught_cohorts(instructor: User) -> list[Cohort]:
    return list(
        Cohort.objects.filter(
            memberships__user=instructor, memberships__role=Membership.Role.INSTRUCTOR
        )
    )


def taught_cohort(request: HttpRequest, slug: str) -> Cohort:
    instructor = learner_of(request)
    cohorts = taught_cohorts(instructor)
    if not cohorts:
        raise PermissionDenied("Only instructors can open the instructor pages.")
    for cohort in cohorts:
        if cohort.slug == slug:
            return cohort
    raise Http404("no such cohort among yours")


@require_GET
def cohort_list(request: HttpRequest) -> HttpResponse:
    cohorts = taught_cohorts(learner_of(request))
    if not cohorts:
        raise PermissionDenied("Only instructors can open the instructor pages.")
    return render(request, "accounts/cohort_list.html", {"cohorts": cohorts})


@require_GET
def cohort_detail(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = taught_cohort(request, slug)
    written = sum(s.written for s in catalog().sections)
    return render(
        request,
        "accounts/cohort_detail.html",
        {"cohort": cohort, "rows": roster(cohort), "written": written},
    )


@require_GET
def cohort_csv(request: HttpRequest, slug: str) -> HttpResponse:
    cohort = taught_cohort(request, slug)
    modules = [m.number for m in catalog().modules if any(s.written for s in m.sections)]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{cohort.slug}-progress.csv"'
    writer = csv.writer(response)
    writer.writerow(
        [
            "username",
            "email",
            "sections_read",
            "exercises_passed",
            "exercise_attempts",
            "quiz_answered",
            "quiz_correct",
            "quiz_accuracy",
            "reviews_due",
            "last_active",
            *(f"module_{n}_passed" for n in modules),
        ]
    )
    for row in roster(cohort):
        accuracy = row.quiz_accuracy
        writer.writerow(
            [
                row.learner.username,
                row.learner.email,
                row.sections_read,
                row.exercises_passed,
                row.attempts,
                row.quiz_answered,
                row.quiz_correct,
                "" if accuracy is None else f"{accuracy:.3f}",
                row.reviews_due,
                row.last_active.isoformat() if row.last_active else "",
                *(row.passed_by_module[n] for n in modules),
            ]
        )
    return response


@require_GET
def learner_detail(request: HttpRequest, slug: str, learner_id: int) -> HttpResponse:
    cohort = taught_cohort(request, slug)
    learner = get_object_or_404(cohort.learners(), pk=learner_id)
    board = dashboard.build(catalog(), learner)
    accuracy = charts.bar_chart(
        "Quiz accuracy per module", [(str(m.number), m.accuracy) for m in board.modules]
    )
    practice = {
        section.key
        for section in catalog().sections
        if section.content is not None and section.content.exercise.spec.grading is Grading.PRACTICE
    }
    latest: dict[str, ExerciseAttempt] = {}
    for attempt in ExerciseAttempt.objects.filter(learner=learner).order_by("created_at"):
        latest[attempt.section] = attempt
    return render(
        request,
        "accounts/learner_detail.html",
        {
            "cohort": cohort,
            "learner": learner,
            "board": board,
            "accuracy_chart": mark_safe(accuracy),
            "attempts": sorted(
                latest.values(), key=lambda a: [int(p) for p in a.section.split(".")]
            ),
            "practice": practice,
        },
    )
