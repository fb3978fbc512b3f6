"""Cohorts and who is in them, as learner or instructor."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth.models import User
from django.db import models


def new_join_code() -> str:
    return secrets.token_urlsafe(9)


class Cohort(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(unique=True)
    join_code = models.CharField(
        max_length=24,
        unique=True,
        default=new_join_code,
        help_text="Learners type this code when they sign up to join the cohort.",
    )
    starts_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def learners(self) -> models.QuerySet[User]:
        return User.objects.filter(
            memberships__cohort=self, memberships__role=Membership.Role.LEARNER
        ).order_by("username")


class Membership(models.Model):
    class Role(models.TextChoices):
        LEARNER = "learner"
        INSTRUCTOR = "instructor"

    cohort = models.ForeignKey(Cohort, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.LEARNER)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cohort", "user"], name="one_membership_per_cohort")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.cohort} ({self.role})"


def is_instructor(user: User) -> bool:
    return Membership.objects.filter(user=user, role=Membership.Role.INSTRUCTOR).exists()
