"""A cohort server's people: two cohorts, their instructors and learners."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from pymastery.web.accounts.models import Cohort, Membership

PASSWORD = "correct horse battery staple 42"


@dataclass
class People:
    spring: Cohort
    autumn: Cohort
    alice: User  # learner in spring
    bob: User  # learner in spring
    carol: User  # instructor of spring
    dave: User  # instructor of autumn
    erin: User  # learner in autumn


@pytest.fixture
def people(db: None) -> People:
    spring = Cohort.objects.create(name="Spring 2027", slug="spring-2027")
    autumn = Cohort.objects.create(name="Autumn 2027", slug="autumn-2027")
    users = {
        name: User.objects.create_user(name, f"{name}@example.com", PASSWORD)
        for name in ("alice", "bob", "carol", "dave", "erin")
    }
    for name, cohort, role in [
        ("alice", spring, Membership.Role.LEARNER),
        ("bob", spring, Membership.Role.LEARNER),
        ("carol", spring, Membership.Role.INSTRUCTOR),
        ("dave", autumn, Membership.Role.INSTRUCTOR),
        ("erin", autumn, Membership.Role.LEARNER),
    ]:
        Membership.objects.create(cohort=cohort, user=users[name], role=role)
    return People(spring=spring, autumn=autumn, **users)
