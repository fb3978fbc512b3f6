"""Exercise checking, hints and quizzes in the terminal; progress goes to the shared database."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pymastery.cli import workspace
from pymastery.cli.render import console, grade_result

if TYPE_CHECKING:
    from types import ModuleType

    from pymastery.core.grading import GradeResult
    from pymastery.core.model import Catalog, MultipleChoice, Section
    from pymastery.core.warm_grader import WarmGrader


def progress() -> ModuleType:
    """The progress actions, with Django started and the database migrated."""
    from pymastery.web.setup import start_django

    start_django()
    from pymastery.web.progress import actions

    return actions


def check_once(section: Section, file: Path, grader: WarmGrader | None = None) -> GradeResult:
    from pymastery.core.grading import grade

    assert section.content is not None
    console().print(f"[bold]Checking {section.key}[/] · {file}")
    exercise = section.content.exercise
    result = grader.grade(exercise, file) if grader else grade(exercise, file)
    grade_result(result, file)
    actions = progress()
    source = file.read_text(encoding="utf-8", errors="replace") if file.is_file() else ""
    actions.record_attempt(actions.local_learner(), section.key, result, source)
    return result


def check(section: Section, file: Path | None, watch: bool) -> bool:
    target = file or workspace.learner_file(section)
    if not target.is_file():
        console(stderr=True).print(
            f"[red]No file at {target}.[/] Run [bold]pymastery exercise "
            f"start {section.key}[/] first, or pass --file."
        )
        raise typer.Exit(1)
    result = check_once(section, target)
    if not watch:
        return result.passed
    from watchfiles import watch as watch_changes

    from pymastery.core.warm_grader import WarmGrader

    grader = WarmGrader()  # pytest stays imported between saves: each check is a fork
    grader.start()
    console().print(f"[grey50]Watching {target.name}; save to check again, Ctrl-C to stop.[/]")
    try:
        for _ in watch_changes(target, debounce=150, rust_timeout=0):
            console().rule()
            result = check_once(section, target, grader)
    except KeyboardInterrupt:
        pass
    finally:
        grader.close()
    return result.passed


def hint(section: Section) -> None:
    assert section.content is not None
    hints = section.content.exercise.spec.hints
    actions = progress()
    shown = actions.reveal_next_hint(actions.local_learner(), section.key, len(hints))
    out = console()
    for number, text in enumerate(hints[:shown], start=1):
        out.print(f"[bold]Hint {number}/{len(hints)}:[/] {text}")
    if shown == len(hints):
        out.print("[grey50]That was the last hint.[/]")


def read_answer() -> str:
    """Multi-line answer: ends at a line holding only '.' or at end of input."""
    lines = []
    while True:
        try:
            line = input()
        except EOFError:
            break
        if line.strip() == ".":
            break
        lines.append(line)
    return "\n".join(lines).strip()


def ask(question: MultipleChoice, title: str) -> int | None:
    """Show a question and its options; the chosen index, or None at end of input."""
    from rich.markdown import Markdown
    from rich.prompt import Prompt

    out = console()
    out.rule(title)
    out.print(Markdown(question.question))
    for letter, option in zip("ABCD", question.options, strict=True):
        out.print(Markdown(f"**{letter}.** {option.text}"))
    try:
        answer = Prompt.ask("Your answer", choices=list("ABCD"), case_sensitive=False, console=out)
    except EOFError:
        return None
    return "ABCD".index(answer.upper())


def explain(question: MultipleChoice, chosen: int) -> bool:
    out = console()
    correct = question.options[chosen].correct
    right = "ABCD"[question.correct_index]
    out.print(
        "[bold green]Correct.[/]" if correct else f"[bold red]Not quite[/] — the answer is {right}."
    )
    for letter, option in zip("ABCD", question.options, strict=True):
        mark = "[green]✔[/]" if option.correct else "[red]✘[/]"
        out.print(f"{mark} [bold]{letter}[/] {option.explanation}")
    return correct


def quiz(section: Section) -> None:
    from rich.markdown import Markdown
    from rich.prompt import Prompt

    assert section.content is not None
    questions = section.content.quiz
    actions = progress()
    learner = actions.local_learner()
    out = console()
    score = 0
    total = len(questions.multiple_choice)
    for index, question in enumerate(questions.multiple_choice):
        chosen = ask(question, f"Question {index + 1}/{total} · {question.kind}")
        if chosen is None:
            out.print("\n[yellow]Quiz stopped; answers so far are saved.[/]")
            return
        correct = explain(question, chosen)
        score += correct
        actions.record_choice(learner, section.key, index, chosen, correct)
    out.rule()
    out.print(f"[bold]Multiple choice: {score}/{total}[/]")
    for index, discussion in enumerate(questions.discussion):
        out.rule(f"Discussion {index + 1}/{len(questions.discussion)} · {discussion.kind}")
        out.print(Markdown(discussion.question))
        out.print("[grey50]Write your answer; finish with a line holding only '.'[/]")
        answer = read_answer()
        out.print("[bold]A sample solution:[/]")
        out.print(Markdown(discussion.sample_answer))
        out.print("[bold]Rubric — which points did your answer cover?[/]")
        for number, point in enumerate(discussion.rubric, start=1):
            out.print(f"  {number}. {point}")
        try:
            met_text = Prompt.ask(
                "Numbers of the points you met (e.g. 1,3), or blank", default="", console=out
            )
        except EOFError:
            met_text = ""
        met = sorted(
            {
                int(n) - 1
                for n in met_text.replace(" ", "").split(",")
                if n.isdigit() and 1 <= int(n) <= len(discussion.rubric)
            }
        )
        actions.record_discussion(learner, section.key, index, answer, met)
        out.print(f"[bold]You covered {len(met)}/{len(discussion.rubric)} rubric points.[/]")


def review(catalog: Catalog) -> None:
    actions = progress()
    learner = actions.local_learner()
    out = console()
    due = actions.due_cards(learner)
    if not due:
        out.print("Nothing is due for review. Answer quiz questions and they come back here.")
        return
    right = 0
    for number, card in enumerate(due, start=1):
        section = catalog.section(card.section)
        if section is None or section.content is None:
            continue
        questions = section.content.quiz.multiple_choice
        if card.question >= len(questions):
            continue
        question = questions[card.question]
        chosen = ask(question, f"Review {number}/{len(due)} · {section.key} {section.title}")
        if chosen is None:
            out.print("\n[yellow]Review stopped; answers so far are saved.[/]")
            return
        correct = explain(question, chosen)
        right += correct
        actions.record_choice(learner, card.section, card.question, chosen, correct)
    out.rule()
    out.print(f"[bold]Reviewed {len(due)}: {right} right.[/] Wrong answers come back soon.")
