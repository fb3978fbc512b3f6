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
    from pymastery.core.model import Section


def progress() -> ModuleType:
    """The progress actions, with Django started and the database migrated."""
    from pymastery.web.setup import start_django

    start_django()
    from pymastery.web.progress import actions

    return actions


def check_once(section: Section, file: Path) -> GradeResult:
    from pymastery.core.grading import grade

    assert section.content is not None
    console().print(f"[bold]Checking {section.key}[/] · {file}")
    result = grade(section.content.exercise, file)
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

    console().print(f"[grey50]Watching {target.name}; save to check again, Ctrl-C to stop.[/]")
    try:
        for _ in watch_changes(target, debounce=150, rust_timeout=0):
            console().rule()
            result = check_once(section, target)
    except KeyboardInterrupt:
        pass
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
        out.rule(f"Question {index + 1}/{total} · {question.kind}")
        out.print(Markdown(question.question))
        for letter, option in zip("ABCD", question.options, strict=True):
            out.print(Markdown(f"**{letter}.** {option.text}"))
        try:
            answer = Prompt.ask(
                "Your answer", choices=list("ABCD"), case_sensitive=False, console=out
            )
        except EOFError:
            out.print("\n[yellow]Quiz stopped; answers so far are saved.[/]")
            return
        chosen = "ABCD".index(answer.upper())
        correct = question.options[chosen].correct
        score += correct
        actions.record_choice(learner, section.key, index, chosen, correct)
        right = "ABCD"[question.correct_index]
        out.print(
            "[bold green]Correct.[/]"
            if correct
            else f"[bold red]Not quite[/] — the answer is {right}."
        )
        for letter, option in zip("ABCD", question.options, strict=True):
            mark = "[green]✔[/]" if option.correct else "[red]✘[/]"
            out.print(f"{mark} [bold]{letter}[/] {option.explanation}")
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
                int(n)
                for n in met_text.replace(" ", "").split(",")
                if n.isdigit() and 1 <= int(n) <= len(discussion.rubric)
            }
        )
        actions.record_discussion(learner, section.key, index, answer, met)
        out.print(f"[bold]You covered {len(met)}/{len(discussion.rubric)} rubric points.[/]")
