"""Who may see what on a cohort server: learners see their own work, instructors their cohorts."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import Client

from pymastery.core import grading
from pymastery.web.progress import actions
from pymastery.web.progress.models import ExerciseAttempt, ReviewCard
from tests.cohort.conftest import People

pytestmark = [pytest.mark.django_db, pytest.mark.services]

ALICE_CODE = "def order_total(lines):\n    return 'alice-secret-approach'\n"


def submit(learner: User, section: str, source: str, passed: bool) -> ExerciseAttempt:
    result = grading.GradeResult(
        status="pass" if passed else "fail",
        tests=[grading.TestResult(name="test_totals", status="pass" if passed else "fail")],
    )
    return actions.record_attempt(learner, section, result, source)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_learner_sees_their_own_attempt_with_its_code(people: People) -> None:
    attempt = submit(people.alice, "5.1", ALICE_CODE, passed=False)
    page = signed_in(people.alice).get(f"/sections/5.1/exercise/attempts/{attempt.pk}/")
    assert page.status_code == 200
    assert "alice-secret-approach" in page.content.decode()


def test_a_learner_cannot_read_another_learners_attempt(people: People) -> None:
    attempt = submit(people.alice, "5.1", ALICE_CODE, passed=True)
    bob = signed_in(people.bob)
    response = bob.get(f"/sections/5.1/exercise/attempts/{attempt.pk}/")
    assert response.status_code == 404, "another learner's attempt must look like no attempt"
    listing = bob.get("/sections/5.1/exercise/attempts/").content.decode()
    assert f"/attempts/{attempt.pk}/" not in listing
    exercise = bob.get("/sections/5.1/exercise/").content.decode()
    assert "alice-secret-approach" not in exercise, "the editor starts from bob's own code"


def test_a_learners_progress_and_reviews_are_their_own(people: People) -> None:
    submit(people.alice, "5.1", ALICE_CODE, passed=True)
    actions.record_choice(people.alice, "5.1", 0, chosen=0, correct=True)
    bob = signed_in(people.bob)
    progress = bob.get("/progress/").content.decode()
    assert "0/14" in progress and "1/14" not in progress
    alices_card = ReviewCard.objects.get(learner=people.alice)
    reviews_before = alices_card.reviews
    response = bob.post(f"/review/{alices_card.pk}/answer", {"option": "0"})
    assert response.status_code == 404, "bob cannot answer (or see) alice's review card"
    alices_card.refresh_from_db()
    assert alices_card.reviews == reviews_before


def test_learners_cannot_open_the_instructor_pages(people: People) -> None:
    alice = signed_in(people.alice)
    assert alice.get("/instructor/").status_code == 403
    assert alice.get(f"/instructor/{people.spring.slug}/").status_code == 403
    assert alice.get(f"/instructor/{people.spring.slug}/progress.csv").status_code == 403
    bob_page = f"/instructor/{people.spring.slug}/learners/{people.bob.pk}/"
    assert alice.get(bob_page).status_code == 403


def test_an_instructor_sees_only_the_cohorts_they_teach(people: People) -> None:
    carol = signed_in(people.carol)
    listing = carol.get("/instructor/").content.decode()
    assert "Spring 2027" in listing and "Autumn 2027" not in listing
    assert carol.get(f"/instructor/{people.autumn.slug}/").status_code == 404
    assert carol.get(f"/instructor/{people.autumn.slug}/progress.csv").status_code == 404
    erin_page = f"/instructor/{people.autumn.slug}/learners/{people.erin.pk}/"
    assert carol.get(erin_page).status_code == 404


def test_an_instructor_cannot_reach_a_learner_of_another_cohort_through_their_own(
    people: People,
) -> None:
    carol = signed_in(people.carol)
    through_spring = f"/instructor/{people.spring.slug}/learners/{people.erin.pk}/"
    assert carol.get(through_spring).status_code == 404
    instructor_as_learner = f"/instructor/{people.spring.slug}/learners/{people.carol.pk}/"
    assert carol.get(instructor_as_learner).status_code == 404


def test_the_cohort_page_shows_each_learners_progress(people: People) -> None:
    submit(people.alice, "5.1", "x = 1\n", passed=False)
    submit(people.alice, "5.1", ALICE_CODE, passed=True)
    actions.mark_read(people.alice, "5.1")
    actions.record_choice(people.alice, "5.1", 0, chosen=0, correct=True)
    actions.record_choice(people.alice, "5.1", 1, chosen=2, correct=False)
    page = signed_in(people.carol).get(f"/instructor/{people.spring.slug}/").content.decode()
    assert "alice" in page and "bob" in page and "erin" not in page
    assert "50% of 2" in page, "alice answered two questions, one right"


def test_an_instructor_reads_a_learners_latest_code(people: People) -> None:
    submit(people.alice, "5.1", "x = 1\n", passed=False)
    submit(people.alice, "5.1", ALICE_CODE, passed=True)
    submit(people.alice, "6.6", "async def render_batch(): ...\n", passed=True)
    page = signed_in(people.carol).get(
        f"/instructor/{people.spring.slug}/learners/{people.alice.pk}/"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "alice-secret-approach" in html
    assert html.count(">practice</span>") == 1, "6.6 is graded as practice; 5.1 is not"


def test_the_csv_export_has_one_row_per_learner(people: People) -> None:
    submit(people.alice, "5.1", ALICE_CODE, passed=True)
    submit(people.alice, "5.2", "broken", passed=False)
    actions.mark_read(people.alice, "5.1")
    actions.record_choice(people.alice, "5.1", 0, chosen=0, correct=True)
    response = signed_in(people.carol).get(f"/instructor/{people.spring.slug}/progress.csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "spring-2027-progress.csv" in response["Content-Disposition"]
    rows = {row["username"]: row for row in csv.DictReader(io.StringIO(response.content.decode()))}
    assert set(rows) == {"alice", "bob"}
    alice = rows["alice"]
    assert alice["exercises_passed"] == "1" and alice["exercise_attempts"] == "2"
    assert alice["sections_read"] == "1" and alice["quiz_accuracy"] == "1.000"
    assert alice["module_5_passed"] == "1"
    assert rows["bob"]["quiz_accuracy"] == "" and rows["bob"]["last_active"] == ""


def test_the_roster_costs_the_same_queries_for_two_learners_or_twenty(
    people: People, django_assert_max_num_queries: object
) -> None:
    from pymastery.web.accounts.roster import roster

    for number in range(18):
        learner = User.objects.create_user(f"learner{number}")
        people.spring.memberships.create(user=learner)
        submit(learner, "5.1", "x = 1\n", passed=number % 2 == 0)
    assert callable(django_assert_max_num_queries)
    with django_assert_max_num_queries(6):
        rows = roster(people.spring)
    assert len(rows) == 20


def test_only_staff_reach_the_admin(people: People) -> None:
    assert signed_in(people.carol).get("/admin/").status_code == 302
    people.carol.is_staff = True
    people.carol.is_superuser = True
    people.carol.save()
    admin = signed_in(people.carol)
    assert admin.get("/admin/").status_code == 200
    assert admin.get("/admin/accounts/cohort/").status_code == 200
    assert admin.get("/admin/progress/exerciseattempt/").status_code == 200
