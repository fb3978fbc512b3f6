"""`pymastery`: read, run, verify, practise and quiz from the terminal.

Heavy imports live inside the commands so that `--help` and `status` start fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from pymastery.core.model import Catalog, Project, Section

app = typer.Typer(
    name="pymastery",
    help="Python Mastery: production-grade Python, from the terminal.",
    no_args_is_help=False,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)
exercise_app = typer.Typer(help="Work on a section's hands-on exercise.", no_args_is_help=True)
app.add_typer(exercise_app, name="exercise")
project_app = typer.Typer(
    help="Capstone projects: start one, check it against its acceptance suite.",
    no_args_is_help=True,
)
app.add_typer(project_app, name="project")

RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="Curriculum folder to use (default: the project's own)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def fail(message: str, code: int = 1) -> typer.Exit:
    from pymastery.cli.render import console

    console(stderr=True).print(f"[bold red]error:[/] {message}")
    return typer.Exit(code)


def load(root: Path | None = None) -> Catalog:
    from pymastery.core.catalog_cache import cached_catalog
    from pymastery.core.locations import cache_dir

    catalog, _ = cached_catalog(root, cache_dir())
    return catalog


def find_section(catalog: Catalog, key: str) -> Section:
    section = catalog.section(key)
    if section is None:
        raise fail(
            f"no section {key!r}: sections are numbered like 5.3 (module 5, section 3); "
            "`pymastery status` lists them"
        )
    return section


def written(section: Section) -> None:
    if section.content is None:
        raise fail(f"section {section.key} ({section.title}) is planned, not yet written")


@app.callback(invoke_without_command=True)
def home(context: typer.Context) -> None:
    """Show the home screen when no command is given."""
    if context.invoked_subcommand is None:
        from pymastery.cli import render

        render.home(load())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 2,
) -> None:
    """Start the web app (single-user on 127.0.0.1 with SQLite unless configured otherwise)."""
    from pymastery.cli import serving

    serving.serve(host, port, workers)


@app.command()
def validate(
    path: Annotated[
        Path | None, typer.Argument(help="Curriculum folder (default: the project's own).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check the content tree; one line `file:line: message` per problem; exit 1 if any."""
    from pymastery.core.catalog_cache import cached_catalog
    from pymastery.core.locations import cache_dir

    catalog, problems = cached_catalog(path, cache_dir())
    ordered = sorted(dict.fromkeys(problems), key=lambda p: (str(p.file), p.line))
    base = catalog.root.parent
    if as_json:
        print(
            json.dumps(
                {"ok": not ordered, "problems": [p.as_json(base) for p in ordered]}, indent=2
            )
        )
    else:
        for problem in ordered:
            print(problem.render(base))
        written_count = sum(s.written for s in catalog.sections)
        complete = sum(s.complete for s in catalog.sections)
        summary = f"{len(ordered)} problem{'s' * (len(ordered) != 1)}" if ordered else "no problems"
        print(
            f"{summary} in {len(catalog.modules)} modules, {len(catalog.sections)} sections "
            f"({written_count} written, {complete} complete)",
            file=sys.stderr,
        )
    if ordered:
        raise typer.Exit(1)


@app.command()
def status(root: RootOption = None, as_json: JsonOption = False) -> None:
    """Curriculum completion per module (a section is complete when every static check passes)."""
    from pymastery.core.locations import cache_dir, default_root
    from pymastery.core.summary import completion

    result = completion(root or default_root(), cache_dir())
    if as_json:
        print(json.dumps(result["status"]))
    else:
        from pymastery.cli import render

        render.status(result["status"], result["icons"])


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What you want to learn about.")],
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many results.")] = 10,
    root: RootOption = None,
    as_json: JsonOption = False,
) -> None:
    """Search lessons, quizzes, exercises and planned sections, best match first."""
    from pymastery.core.locations import cache_dir, default_root
    from pymastery.core.search import open_index

    hits = open_index(root or default_root(), cache_dir()).search(query, limit)
    if as_json:
        print(json.dumps([hit.as_json() for hit in hits]))
    else:
        from pymastery.cli import render

        render.search_hits(query, hits)


@app.command()
def read(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")], root: RootOption = None
) -> None:
    """Read a section's lesson in the terminal (examples shown from their files)."""
    from pymastery.cli import render

    section = find_section(load(root), section_key)
    render.lesson(section)


@app.command()
def run(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")],
    example: Annotated[str | None, typer.Argument(help="One example (default: all).")] = None,
    record: Annotated[
        bool,
        typer.Option("--record", help="Save this run's output as the recorded output (authors)."),
    ] = False,
    root: RootOption = None,
) -> None:
    """Run a section's examples against the local services and show their output."""
    from pymastery.cli import render
    from pymastery.core import runner, services

    section = find_section(load(root), section_key)
    written(section)
    content = section.content
    assert content is not None
    chosen = list(content.spec.examples)
    if example is not None:
        found = content.example(example)
        if found is None:
            names = ", ".join(e.name for e in content.spec.examples)
            raise fail(f"section {section.key} has no example {example!r} (it has: {names})")
        chosen = [found]
    needed = {service for e in chosen for service in e.services}
    blocked = services.prepare(needed)
    if blocked:
        raise fail("\n".join(blocked))
    failed = False
    for spec in chosen:
        result = runner.run_example(content, spec)
        difference = runner.output_difference(content, result)
        if record and result.exit_code == 0:
            runner.record(content, result)
        render.example_run(section, result, difference, recorded=record)
        failed |= result.exit_code != 0
    if failed:
        raise typer.Exit(1)


@app.command()
def verify(
    target: Annotated[
        str | None,
        typer.Argument(help="A module (5) or a section (5.3); default: every written section."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Sections verified at once.")] = 2,
    root: RootOption = None,
) -> None:
    """Run every example, the exercise both ways, ruff and mypy --strict; exit 1 on failure."""
    from pymastery.cli import render
    from pymastery.core.verify import verify_project, verify_sections

    catalog = load(root)
    if target is None:
        chosen = list(catalog.sections)
    elif "." in target:
        chosen = [find_section(catalog, target)]
        written(chosen[0])
    else:
        module = catalog.module(int(target)) if target.isdigit() else None
        if module is None:
            raise fail(f"no module {target!r}: modules are numbered 5 to 20")
        chosen = list(module.sections)
    projects = [
        p
        for p in catalog.projects
        if target is None or (target.isdigit() and p.spec.module == int(target))
    ]
    if not any(section.written for section in chosen) and not projects:
        raise fail("nothing to verify: no section there is written yet")
    reports = verify_sections(chosen, catalog.root.parent, workers, render.verify_report)
    for project in projects:
        report = verify_project(project, catalog.root.parent)
        render.verify_report(report)
        reports.append(report)
    render.verify_summary(reports)
    if not all(report.ok for report in reports):
        raise typer.Exit(1)


@app.command()
def grade(
    exercise: Annotated[
        str,
        typer.Argument(metavar="EXERCISE", help="The section whose exercise to grade, like 5.3."),
    ],
    submission: Annotated[Path, typer.Argument(metavar="SUBMISSION_FILE")],
    sandbox: Annotated[
        bool,
        typer.Option(
            "--sandbox",
            help="Grade exactly as cohort mode does: in the grading sandbox (root, Linux).",
        ),
    ] = False,
    as_json: JsonOption = False,
    root: RootOption = None,
) -> None:
    """Grade a file against an exercise's tests; --json prints the result document."""
    from pymastery.cli import render
    from pymastery.core.grading import grade as grade_submission

    section = find_section(load(root), exercise)
    written(section)
    assert section.content is not None
    result = grade_submission(section.content.exercise, submission, sandbox=sandbox)
    if as_json:
        print(result.model_dump_json(indent=2))
    else:
        render.grade_result(result, submission)
    if not result.passed:
        raise typer.Exit(1)


@exercise_app.command("start")
def exercise_start(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace your file with a fresh starter.")
    ] = False,
    root: RootOption = None,
) -> None:
    """Copy the exercise's starter, tests and instructions into your workspace."""
    from pymastery.cli import render, workspace

    section = find_section(load(root), section_key)
    written(section)
    placed = workspace.start(section, force=force)
    render.exercise_started(section, placed)


@exercise_app.command("check")
def exercise_check(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")],
    watch: Annotated[bool, typer.Option("--watch", help="Check again on every save.")] = False,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Check this file instead of the one in your workspace."),
    ] = None,
    root: RootOption = None,
) -> None:
    """Run the exercise's tests against your file and report each one."""
    from pymastery.cli import practice

    section = find_section(load(root), section_key)
    written(section)
    passed = practice.check(section, file, watch)
    if not passed:
        raise typer.Exit(1)


@exercise_app.command("hint")
def exercise_hint(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")], root: RootOption = None
) -> None:
    """Reveal the next hint (they go from a nudge to nearly the answer)."""
    from pymastery.cli import practice

    section = find_section(load(root), section_key)
    written(section)
    practice.hint(section)


def find_project(catalog: Catalog, capstone: int) -> Project:
    project = catalog.project(capstone)
    if project is None:
        written = ", ".join(str(p.spec.capstone) for p in catalog.projects) or "none yet"
        raise fail(
            f"capstone {capstone} is not written yet (written: {written}); "
            "`pymastery project list` shows them"
        )
    return project


@project_app.command("list")
def project_list(root: RootOption = None) -> None:
    """The capstone projects: which exist and where each lives in the curriculum."""
    from pymastery.cli import render

    render.project_list(load(root))


@project_app.command("start")
def project_start(
    capstone: Annotated[int, typer.Argument(min=1, max=9, help="Capstone number (1-9).")],
    force: Annotated[
        bool, typer.Option("--force", help="Replace your copy with a fresh starter.")
    ] = False,
    root: RootOption = None,
) -> None:
    """Copy a capstone's specification, starter and acceptance suite into your workspace."""
    from pymastery.cli import render, workspace

    project = find_project(load(root), capstone)
    target, created = workspace.start_project(project, force=force)
    render.project_started(project, target, created)


@project_app.command("check")
def project_check(
    capstone: Annotated[int, typer.Argument(min=1, max=9, help="Capstone number (1-9).")],
    path: Annotated[
        Path | None,
        typer.Option("--path", help="Your project folder (default: the one in your workspace)."),
    ] = None,
    root: RootOption = None,
) -> None:
    """Run the capstone's acceptance suite against your project; exit 1 unless it all passes."""
    from pymastery.cli import render, workspace
    from pymastery.core import services
    from pymastery.core.grading import grade_project

    project = find_project(load(root), capstone)
    folder = path or workspace.project_folder(project)
    blocked = services.prepare(project.spec.services)
    if blocked:
        raise fail("\n".join(blocked))
    render.console().print(f"[bold]Capstone {capstone}[/] · {project.spec.title} · {folder}")
    result = grade_project(project.acceptance, folder, project.spec.time_limit)
    render.grade_result(result, folder)
    if not result.passed:
        raise typer.Exit(1)


@app.command()
def quiz(
    section_key: Annotated[str, typer.Argument(metavar="SECTION")], root: RootOption = None
) -> None:
    """Take a section's quiz: multiple choice explained, discussion graded by its rubric."""
    from pymastery.cli import practice

    section = find_section(load(root), section_key)
    written(section)
    practice.quiz(section)


@app.command()
def review(root: RootOption = None) -> None:
    """Answer the questions due for review today (FSRS), the same queue as the web app."""
    from pymastery.cli import practice

    practice.review(load(root))


def main() -> None:
    """Run the CLI; an unexpected failure is one clear line, the traceback only on request."""
    import os

    try:
        app()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    except Exception as error:  # the last line of defence: never a bare traceback
        if os.environ.get("PYMASTERY_DEBUG"):
            raise
        print(
            f"pymastery: internal error: {type(error).__name__}: {error}\n"
            "Run again with PYMASTERY_DEBUG=1 to see the traceback, and please report it.",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
