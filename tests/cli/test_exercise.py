"""Exercises, hints and quizzes in the terminal, with progress in the shared database."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pymastery.core.loader import load_catalog
from tests.conftest import Learner

pytestmark = pytest.mark.services


def exercise_paths(key: str) -> tuple[Path, Path, str]:
    catalog, _ = load_catalog()
    section = catalog.section(key)
    assert section is not None and section.content is not None
    exercise = section.content.exercise
    return exercise.starter, exercise.solution, f"{key}-{section.plan.slug}"


def database(learner: Learner) -> sqlite3.Connection:
    return sqlite3.connect(learner.home / "data" / "pymastery.sqlite3")


def test_start_places_starter_tests_and_instructions(learner: Learner) -> None:
    starter, _, folder = exercise_paths("5.1")
    result = learner.run("exercise", "start", "5.1")
    assert result.returncode == 0, result.stderr
    placed = learner.home / "workspace" / folder
    assert (placed / starter.name).read_text() == starter.read_text()
    assert (placed / f"test_{starter.name}").is_file()
    assert (placed / "README.md").read_text().startswith("# 5.1 ")
    assert not (placed / ".meta").exists(), "the reference solution never reaches the learner"


def test_start_keeps_the_learners_work_unless_forced(learner: Learner) -> None:
    starter, _, folder = exercise_paths("5.1")
    learner.run("exercise", "start", "5.1")
    mine = learner.home / "workspace" / folder / starter.name
    mine.write_text("# my work in progress\n")
    again = learner.run("exercise", "start", "5.1")
    assert "kept your existing file" in again.stdout
    assert mine.read_text() == "# my work in progress\n"
    learner.run("exercise", "start", "5.1", "--force")
    assert mine.read_text() == starter.read_text()


def test_check_fails_the_starter_then_passes_the_solution_and_records_both(
    learner: Learner,
) -> None:
    starter, solution, folder = exercise_paths("5.1")
    learner.run("exercise", "start", "5.1")
    failing = learner.run("exercise", "check", "5.1")
    assert failing.returncode == 1
    assert "✘" in failing.stdout and "tests pass" in failing.stdout
    assert "Traceback" not in failing.stderr

    shutil.copyfile(solution, learner.home / "workspace" / folder / starter.name)
    passing = learner.run("exercise", "check", "5.1")
    assert passing.returncode == 0, passing.stdout
    assert "All" in passing.stdout and "tests pass" in passing.stdout

    with database(learner) as connection:
        rows = connection.execute(
            "SELECT section, status FROM progress_exerciseattempt ORDER BY id"
        ).fetchall()
    assert rows == [("5.1", "fail"), ("5.1", "pass")]


def test_check_without_a_started_exercise_says_what_to_do(learner: Learner) -> None:
    result = learner.run("exercise", "check", "5.2")
    assert result.returncode == 1
    assert "pymastery exercise start 5.2" in result.stderr


def test_hints_are_revealed_one_at_a_time_and_remembered(learner: Learner) -> None:
    first = learner.run("exercise", "hint", "5.2")
    assert "Hint 1/" in first.stdout and "Hint 2/" not in first.stdout
    second = learner.run("exercise", "hint", "5.2")
    assert "Hint 1/" in second.stdout and "Hint 2/" in second.stdout
    with database(learner) as connection:
        (revealed,) = connection.execute(
            "SELECT revealed FROM progress_hintreveal WHERE section = '5.2'"
        ).fetchone()
    assert revealed == 2


def test_the_quiz_explains_every_option_and_records_answers(learner: Learner) -> None:
    catalog, _ = load_catalog()
    section = catalog.section("5.3")
    assert section is not None and section.content is not None
    questions = section.content.quiz.multiple_choice
    right = ["ABCD"[q.correct_index] for q in questions]
    wrong_first = "ABCD"[(questions[0].correct_index + 1) % 4]
    answers = [wrong_first, *right[1:]]
    discussion = "My design uses one schema per tenant.\n.\n1,2\n" * 3
    result = learner.run("quiz", "5.3", stdin="\n".join(answers) + "\n" + discussion)
    assert result.returncode == 0, result.stderr
    assert "Multiple choice: 4/5" in result.stdout
    for option in questions[0].options:
        assert option.explanation.split()[0] in result.stdout
    assert "You covered 2/" in result.stdout
    with database(learner) as connection:
        choices = connection.execute(
            "SELECT question, correct FROM progress_quizanswer WHERE kind = 'mc' ORDER BY question"
        ).fetchall()
        essays = connection.execute(
            "SELECT answer_text, rubric_met FROM progress_quizanswer WHERE kind = 'discussion'"
        ).fetchall()
    assert choices == [(0, 0), (1, 1), (2, 1), (3, 1), (4, 1)]
    assert len(essays) == 3
    assert essays[0] == ("My design uses one schema per tenant.", "[0, 1]"), "rubric points 1 and 2"


def test_watch_checks_again_on_every_save(learner: Learner) -> None:
    import queue
    import subprocess
    import threading
    import time

    from tests.conftest import CLI

    starter, solution, folder = exercise_paths("5.1")
    learner.run("exercise", "start", "5.1")
    mine = learner.home / "workspace" / folder / starter.name
    lines: queue.Queue[str] = queue.Queue()
    seen: list[str] = []

    def wait_for(text: str, seconds: float, on_tick: Callable[[], None] | None = None) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                if on_tick:
                    on_tick()
                continue
            if text in seen[-1]:
                return True
        return False

    saves = iter(range(1000))

    def save_solution() -> None:  # a learner saving again; each save is a change to watch
        mine.write_text(solution.read_text() + f"# save {next(saves)}\n")

    with subprocess.Popen(
        [str(CLI), "exercise", "check", "5.1", "--watch"],
        env=learner.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as watcher:
        assert watcher.stdout is not None

        def pump() -> None:
            for line in watcher.stdout or []:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        try:
            assert wait_for("Watching", 90), "".join(seen)
            assert wait_for("tests pass. Well done.", 90, save_solution), "".join(seen)
        finally:
            watcher.terminate()
            watcher.wait(timeout=10)


def test_review_in_the_terminal_asks_the_due_questions(learner: Learner) -> None:
    catalog, _ = load_catalog()
    section = catalog.section("5.3")
    assert section is not None and section.content is not None
    questions = section.content.quiz.multiple_choice
    nothing = learner.run("review")
    assert "Nothing is due" in nothing.stdout, nothing.stderr
    right = ["ABCD"[q.correct_index] for q in questions]
    learner.run("quiz", "5.3", stdin="\n".join(right) + "\n")
    with database(learner) as connection:
        connection.execute("UPDATE progress_reviewcard SET due = '2000-01-01 00:00:00'")
    result = learner.run("review", stdin="\n".join(right) + "\n")
    assert result.returncode == 0, result.stderr
    assert "Reviewed 5: 5 right." in result.stdout
    with database(learner) as connection:
        (still_due,) = connection.execute(
            "SELECT count(*) FROM progress_reviewcard WHERE due < '2001-01-01'"
        ).fetchone()
    assert still_due == 0
