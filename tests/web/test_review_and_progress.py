"""Daily review (FSRS) and the progress dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from pymastery.web.learn.catalog import catalog
from pymastery.web.progress import actions
from pymastery.web.progress.models import ReviewCard, SectionVisit

pytestmark = pytest.mark.django_db
KEY = "5.1"


def quiz_question(index: int) -> tuple[int, int]:
    section = catalog().section(KEY)
    assert section is not None and section.content is not None
    question = section.content.quiz.multiple_choice[index]
    return question.correct_index, (question.correct_index + 1) % 4


def learner() -> User:
    return User.objects.get(username=actions.LOCAL_LEARNER)


def test_answering_a_quiz_question_puts_it_in_the_review_deck(client: Client) -> None:
    _, wrong = quiz_question(0)
    client.post(f"/sections/{KEY}/quiz/0/answer", {"option": wrong})
    card = ReviewCard.objects.get()
    assert (card.section, card.question, card.lapses) == (KEY, 0, 1)
    assert card.due - timezone.now() < timedelta(minutes=15), "a wrong answer comes back soon"
    client.post(f"/sections/{KEY}/quiz/1/answer", {"option": quiz_question(1)[0]})
    assert ReviewCard.objects.count() == 2


def test_a_right_answer_pushes_the_card_further_out_each_time(client: Client) -> None:
    client.get("/")
    now = timezone.now()
    first = actions.schedule(learner(), KEY, 2, True, now)
    second = actions.schedule(learner(), KEY, 2, True, first.due)
    third = actions.schedule(learner(), KEY, 2, True, second.due)
    assert first.due - now < second.due - first.due < third.due - second.due
    assert third.reviews == 3


def test_the_review_page_asks_due_questions_and_reschedules_them(client: Client) -> None:
    right, _ = quiz_question(0)
    client.post(f"/sections/{KEY}/quiz/0/answer", {"option": (right + 1) % 4})
    ReviewCard.objects.update(due=timezone.now() - timedelta(minutes=1))
    page = client.get("/review/").content.decode()
    assert "1 due" in page and 'type="radio"' in page
    card = ReviewCard.objects.get()
    feedback = client.post(f"/review/{card.pk}/answer", {"option": right}).content.decode()
    assert "Correct" in feedback and "Next question" in feedback
    card.refresh_from_db()
    assert card.due > timezone.now()
    assert "Nothing is due" in client.get("/review/next").content.decode()


def test_a_learner_cannot_answer_someone_elses_card(client: Client) -> None:
    stranger = User.objects.create(username="stranger")
    card = actions.schedule(stranger, KEY, 0, True)
    assert client.post(f"/review/{card.pk}/answer", {"option": 0}).status_code == 404


def test_reading_a_lesson_counts_as_read_on_the_dashboard(client: Client) -> None:
    page = client.get(f"/sections/{KEY}/").content.decode()
    assert f'hx-post="/sections/{KEY}/read" hx-trigger="load"' in page
    assert client.post(f"/sections/{KEY}/read").status_code == 204
    assert client.post("/sections/20.16/read").status_code == 204
    assert list(SectionVisit.objects.values_list("section", flat=True)) == [KEY]
    page = client.get("/progress/").content.decode()
    assert "<svg" in page and "Quiz accuracy per module" in page
    module_five_row = page.split('href="/modules/5/"')[1].split("</tr>")[0]
    assert "<td>1/" in module_five_row


@pytest.mark.services
def test_the_dashboard_moves_when_an_exercise_passes(client: Client) -> None:
    section = catalog().section(KEY)
    assert section is not None and section.content is not None
    solution = section.content.exercise.solution.read_text()
    client.post(f"/sections/{KEY}/exercise/check", {"source": solution})
    client.post(f"/sections/{KEY}/quiz/0/answer", {"option": quiz_question(0)[0]})
    page = client.get("/progress/").content.decode()
    assert "Sections passed over time" in page
    assert "<polyline" in page or "<circle" in page
    module_five_row = page.split('href="/modules/5/"')[1].split("</tr>")[0]
    assert "100% of 1" in module_five_row


def test_the_dashboard_costs_a_fixed_number_of_queries(
    client: Client, django_assert_max_num_queries: object
) -> None:
    client.get("/progress/")
    with django_assert_max_num_queries(5):  # type: ignore[operator]
        client.get("/progress/")
