"""Django admin for staff: cohorts and their members; progress rows read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from pymastery.web.accounts.models import Cohort, Membership
from pymastery.web.progress.models import ExerciseAttempt, QuizAnswer, ReviewCard, SectionVisit


class MembershipInline(admin.TabularInline[Membership, Cohort]):
    model = Membership
    extra = 1
    autocomplete_fields = ("user",)


@admin.register(Cohort)
class CohortAdmin(admin.ModelAdmin[Cohort]):
    list_display = ("name", "slug", "join_code", "starts_on", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}  # noqa: RUF012
    inlines = (MembershipInline,)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin[Membership]):
    list_display = ("user", "cohort", "role", "joined_at")
    list_filter = ("role", "cohort")
    search_fields = ("user__username", "user__email", "cohort__name")
    autocomplete_fields = ("user", "cohort")


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    """Progress is written by learners' actions only; staff may look and delete, not edit."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ExerciseAttempt)
class ExerciseAttemptAdmin(ReadOnlyAdmin):
    list_display = ("learner", "section", "status", "passed_tests", "total_tests", "created_at")
    list_filter = ("status",)
    search_fields = ("learner__username", "section")


@admin.register(QuizAnswer)
class QuizAnswerAdmin(ReadOnlyAdmin):
    list_display = ("learner", "section", "kind", "question", "correct", "created_at")
    list_filter = ("kind", "correct")
    search_fields = ("learner__username", "section")


@admin.register(ReviewCard)
class ReviewCardAdmin(ReadOnlyAdmin):
    list_display = ("learner", "section", "question", "due", "reviews", "lapses")
    search_fields = ("learner__username", "section")


@admin.register(SectionVisit)
class SectionVisitAdmin(ReadOnlyAdmin):
    list_display = ("learner", "section", "first_read_at", "last_read_at")
    search_fields = ("learner__username", "section")
