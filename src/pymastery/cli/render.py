"""Rich rendering for the CLI: everything the learner sees in the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from pymastery.core.grading import GradeResult
    from pymastery.core.model import Catalog, Project, Section
    from pymastery.core.runner import ExampleRun
    from pymastery.core.search import Hit
    from pymastery.core.verify import SectionReport


@cache
def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False)


def bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / total) if total else 0
    return "[green]" + "█" * filled + "[/][grey37]" + "░" * (width - filled) + "[/]"


def status(summary: dict[str, Any], icons: dict[str, str]) -> None:
    from rich.table import Table

    modules = summary["modules"]
    modules_done = sum(m["complete"] == m["sections"] for m in modules)
    out = console()
    out.print(
        f"[bold]Python Mastery[/] — {modules_done}/{len(modules)} modules complete, "
        f"{summary['complete']}/{summary['sections']} sections complete"
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("", width=2)
    table.add_column("Module", justify="right")
    table.add_column("Title")
    table.add_column("Sections", justify="right")
    table.add_column("")
    for module in modules:
        done, total = module["complete"], module["sections"]
        mark = "✅" if done == total else ("🟡" if done else "🔲")
        table.add_row(
            mark,
            str(module["number"]),
            f"{icons.get(str(module['number']), '')} {module['title']}",
            f"{done}/{total}",
            bar(done, total),
        )
    out.print(table)


def home(catalog: Catalog) -> None:
    from rich.panel import Panel

    sections_done = sum(section.complete for section in catalog.sections)
    ready = [s for s in catalog.sections if s.complete]
    out = console()
    lines = [
        "[bold]Python Mastery[/] — from knowing Python to running it in production.",
        f"{len(catalog.modules)} modules · {len(catalog.sections)} sections · "
        f"{sections_done} ready to study · {len(catalog.paths)} learning paths",
        "",
    ]
    if ready:
        lines.append("[bold]Ready to study:[/]")
        lines += [f"  {s.key:>5}  {s.title}" for s in ready[:8]]
        lines.append("")
        first = ready[0].key
    else:
        first = "5.1"
    commands = [
        (f"read {first}", "read the lesson"),
        (f"run {first}", "run its examples against the local services"),
        (f"exercise start {first}", "put the exercise in your workspace"),
        (f"exercise check {first}", "check your solution (add --watch)"),
        (f"exercise hint {first}", "reveal the next hint"),
        (f"quiz {first}", "take the quiz"),
        ("status", "curriculum completion per module"),
        ("--help", "every command"),
    ]
    lines.append("[bold]Start here:[/]")
    lines += [f"  pymastery {command:<20} {purpose}" for command, purpose in commands]
    out.print(Panel("\n".join(lines), title="🐍 pymastery", expand=False))
    if catalog.paths:
        out.print(
            "[bold]Learning paths:[/] "
            + " · ".join(f"{p.title} ({p.duration})" for p in catalog.paths)
        )


def lesson(section: Section) -> None:
    from rich.markdown import Markdown

    from pymastery.core.lesson import outline, slice_lines

    out = console()
    out.print(f"[bold]{section.key} {section.title}[/]")
    content = section.content
    if content is None:
        out.print("[yellow]Planned — not yet written.[/] It will cover:")
        for subtopic in section.plan.subtopics:
            out.print(f"  • {subtopic}")
        return
    text = content.lesson
    lines = text.splitlines()
    includes = outline(text).includes
    for include in reversed(includes):
        example = content.example(include.target)
        supporting = content.supporting_file(include.target) if include.kind == "file" else None
        if supporting is not None:
            body = slice_lines(supporting.read_text(encoding="utf-8"), include.lines)
            fence = f"```{include.language}\n# {supporting.name}\n{body.rstrip()}\n```"
        elif example is None:
            continue
        elif include.kind == "file":
            body = slice_lines(
                content.example_path(example).read_text(encoding="utf-8"), include.lines
            )
            fence = f"```python\n# {example.file}\n{body.rstrip()}\n```"
        else:
            recorded = content.expected_output_path(example).read_text(encoding="utf-8")
            fence = f"```text\n{recorded.rstrip()}\n```"
        end = include.line
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        lines[include.line - 1 : end + 1] = fence.splitlines()
    out.print(Markdown("\n".join(lines), code_theme="monokai"))


def example_run(
    section: Section, run: ExampleRun, difference: Sequence[str], recorded: bool
) -> None:
    from rich.panel import Panel
    from rich.text import Text

    out = console()
    if run.timed_out:
        verdict = f"[red]stopped after {run.example.timeout:g} s[/]"
    elif run.exit_code != 0:
        verdict = f"[red]exit code {run.exit_code}[/]"
    elif recorded:
        verdict = "[cyan]recorded[/]"
    elif difference:
        verdict = "[yellow]output differs from the lesson[/]"
    else:
        verdict = "[green]matches the lesson[/]"
    title = f"{section.key} · {run.example.file} — {run.example.title}"
    out.print(
        Panel(
            Text(run.output.rstrip() or "(no output)"),
            title=title,
            subtitle=f"{verdict} · {run.seconds:.2f} s",
            title_align="left",
            subtitle_align="right",
        )
    )
    if difference and not recorded:
        out.print(Text("\n".join(difference), style="yellow"))


def verify_report(report: SectionReport) -> None:
    out = console()
    mark = "[green]✔[/]" if report.ok else "[red]✘[/]"
    out.print(f"{mark} [bold]{report.key}[/] {report.title}")
    for check in report.checks:
        sign = "[green]✔[/]" if check.ok else "[red]✘[/]"
        out.print(f"    {sign} {check.name}")
        for detail in check.details:
            out.print("      " + detail.replace("\n", "\n      "), markup=False, highlight=False)


def verify_summary(reports: Sequence[SectionReport]) -> None:
    passed = sum(report.ok for report in reports)
    style = "green" if passed == len(reports) else "red"
    console().print(f"[{style}]{passed}/{len(reports)} sections verified[/]")


def exercise_started(section: Section, placed: dict[str, tuple[Path, bool]]) -> None:
    out = console()
    out.print(f"[bold]{section.key} exercise[/] — your files:")
    for role, (path, created) in placed.items():
        note = "" if created else "  [yellow](kept your existing file; --force replaces it)[/]"
        out.print(f"  {role:<13} {path}{note}")
    out.print(
        f"\nEdit the {placed['your code'][0].name} file, then run "
        f"[bold]pymastery exercise check {section.key}[/] (add --watch to re-check on "
        "every save)."
    )


def grade_result(result: GradeResult, file: Path) -> None:
    from rich.markup import escape
    from rich.text import Text

    out = console()
    if result.status == "error":
        out.print(f"[bold red]Your code could not be tested[/] ({file})")
        if result.message:
            out.print(Text(result.message, style="red"))
        return
    for test in result.tests:
        name = escape(test.name.removeprefix("test_").replace("_", " "))
        if test.status == "pass":
            out.print(f"  [green]✔[/] {name}")
        else:
            out.print(f"  [red]✘[/] {name}")
            if test.message:
                out.print(Text("      " + test.message.replace("\n", "\n      "), style="red"))
        if test.output and test.status != "pass":
            out.print(
                Text("      output: " + test.output.replace("\n", "\n      "), style="grey50")
            )
    passed = sum(test.status == "pass" for test in result.tests)
    if result.passed:
        out.print(f"[bold green]All {passed} tests pass.[/] Well done.")
    else:
        out.print(
            f"[bold]{passed}/{len(result.tests)} tests pass.[/] "
            "Stuck? [bold]pymastery exercise hint[/] reveals a hint."
        )


def search_hits(query: str, hits: Sequence[Hit]) -> None:
    from rich.markup import escape

    out = console()
    if not hits:
        out.print(f"No section matches {query!r}. Try fewer or more general words.")
        return
    for hit in hits:
        planned = " [yellow](planned)[/]" if hit.planned else ""
        out.print(
            f"[bold]{hit.section:>5}[/]  {escape(hit.title)}{planned}  [grey50]"
            f"{escape(hit.module)}[/]"
        )
        if hit.snippet:
            out.print(f"       [grey62]{escape(hit.snippet)}[/]")


def project_list(catalog: Catalog) -> None:
    from rich.table import Table

    written = {project.spec.capstone: project for project in catalog.projects}
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("#", "Capstone", "Module", "Status"):
        table.add_column(column)
    for module in catalog.modules:
        for practical in module.meta.practical_projects:
            if practical.capstone is None:
                continue
            project = written.get(practical.capstone)
            status = (
                (f"[green]ready[/] — pymastery project start {practical.capstone}")
                if project
                else "[grey50]planned[/]"
            )
            table.add_row(str(practical.capstone), practical.title, str(module.number), status)
    console().print(table)


def project_started(project: Project, target: Path, created: bool) -> None:
    out = console()
    note = "" if created else " [yellow](kept your existing work; --force replaces it)[/]"
    out.print(f"[bold]Capstone {project.spec.capstone}: {project.spec.title}[/]")
    out.print(f"  your project   {target}{note}")
    out.print(f"  specification  {target / 'SPEC.md'}")
    out.print(f"  acceptance     {target / 'acceptance'}")
    out.print(
        f"\nBuild the {project.spec.package} package, then run "
        f"[bold]pymastery project check {project.spec.capstone}[/]."
    )
