"""Exercises and quizzes in the browser's terms: pages, htmx fragments, progress recorded."""

from __future__ import annotations

import pytest
from django.test import Client

from pymastery.web.learn.catalog import catalog
from pymastery.web.progress.models import ExerciseAttempt, HintReveal, QuizAnswer

pytestmark = pytest.mark.django_db
KEY = "5.1"


def exercise_files() -> tuple[str, str]:
    section = catalog().section(KEY)
    assert section is not None and section.content is not None
    exercise = section.content.exercise
    return exercise.starter.read_text(), exercise.solution.read_text()


def test_the_exercise_page_offers_the_starter_in_an_editor(client: Client) -> None:
    starter, _ = exercise_files()
    page = client.get(f"/sections/{KEY}/exercise/").content.decode()
    assert 'id="source"' in page and "editor.min.js" in page
    first_function = next(line for line in starter.splitlines() if line.startswith("def "))
    assert first_function.split("(")[0] in page
    assert "TODO" in page
    assert "Reference solution" not in page, "the solution stays hidden before a pass"


@pytest.mark.services
def test_check_fails_the_starter_then_passes_the_solution_and_reveals_it(client: Client) -> None:
    starter, solution = exercise_files()
    failing = client.post(f"/sections/{KEY}/exercise/check", {"source": starter})
    assert failing.status_code == 200
    assert "tests pass" in failing.content.decode() and "✘" in failing.content.decode()
    passing = client.post(f"/sections/{KEY}/exercise/check", {"source": solution}).content.decode()
    assert "tests pass. Well done." in passing
    assert "Reference solution" in passing
    assert list(ExerciseAttempt.objects.values_list("status", flat=True).order_by("id")) == [
        "fail",
        "pass",
    ]
    page = client.get(f"/sections/{KEY}/exercise/").content.decode()
    assert "Reference solution" in page


def test_a_syntax_error_is_reported_not_raised(client: Client) -> None:
    page = client.post(f"/sections/{KEY}/exercise/check", {"source": "def broken(:\n"})
    assert page.status_code == 200
    assert "could not be tested" in page.content.decode()
    assert "SyntaxError" in page.content.decode()


def test_hints_come_one_at_a_time(client: Client) -> None:
    first = client.post(f"/sections/{KEY}/exercise/hint").content.decode()
    assert first.count("<li>") == 1
    second = client.post(f"/sections/{KEY}/exercise/hint").content.decode()
    assert second.count("<li>") == 2
    assert HintReveal.objects.get(section=KEY).revealed == 2


def test_giving_up_shows_the_solution_from_then_on(client: Client) -> None:
    _, solution = exercise_files()
    shown = client.post(f"/sections/{KEY}/exercise/give-up").content.decode()
    assert "Reference solution" in shown
    assert solution.splitlines()[0][:30] in shown.replace("&quot;", '"').replace("&#x27;", "'")


def test_a_quiz_answer_explains_every_option_and_is_recorded(client: Client) -> None:
    section = catalog().section(KEY)
    assert section is not None and section.content is not None
    question = section.content.quiz.multiple_choice[0]
    wrong = (question.correct_index + 1) % 4
    page = client.get(f"/sections/{KEY}/quiz/").content.decode()
    assert page.count('type="radio"') == 20
    feedback = client.post(f"/sections/{KEY}/quiz/0/answer", {"option": wrong}).content.decode()
    assert "Not quite." in feedback
    assert feedback.count("✔ Right") == 1 and feedback.count("✘ Wrong") == 3
    assert QuizAnswer.objects.get().correct is False


def test_a_quiz_answer_must_name_an_option(client: Client) -> None:
    assert client.post(f"/sections/{KEY}/quiz/0/answer", {"option": "9"}).status_code == 400
    assert client.post(f"/sections/{KEY}/quiz/0/answer", {}).status_code == 400
    assert client.post(f"/sections/{KEY}/quiz/7/answer", {"option": "0"}).status_code == 404


def test_a_discussion_shows_the_sample_then_saves_the_self_grade(client: Client) -> None:
    review = client.post(
        f"/sections/{KEY}/quiz/discussion/0", {"answer": "I would cap the pool at 20."}
    ).content.decode()
    assert "A sample solution" in review and 'name="rubric"' in review
    graded = client.post(
        f"/sections/{KEY}/quiz/discussion/0",
        {"answer": "I would cap the pool at 20.", "graded": "1", "rubric": ["0", "2"]},
    )
    assert "covered 2 of" in graded.content.decode()
    saved = QuizAnswer.objects.get(kind="discussion")
    assert saved.rubric_met == [0, 2] and saved.answer_text == "I would cap the pool at 20."
