"""Prove written sections dynamically: examples, exercise both ways, ruff and mypy --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from pymastery.core import grading, runner, services
from pymastery.core.locations import cache_dir
from pymastery.core.model import Grading, Project, Section, SectionContent, Service


@dataclass
class Check:
    name: str
    ok: bool
    details: list[str] = field(default_factory=list)


@dataclass
class SectionReport:
    key: str
    title: str
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)


def section_services(content: SectionContent) -> set[Service]:
    wanted = {service for example in content.spec.examples for service in example.services}
    return wanted | set(content.exercise.spec.services)


def code_files(content: SectionContent) -> list[Path]:
    """Files held to ruff and mypy --strict: examples, starter and solution."""
    examples = [content.example_path(example) for example in content.spec.examples]
    return [*examples, content.exercise.starter, content.exercise.solution]


def verify_examples(content: SectionContent, worker: int | None) -> Check:
    details = []
    for example in content.spec.examples:
        run = runner.run_example(content, example, worker)
        if run.timed_out:
            details.append(f"{example.file}: stopped after its {example.timeout:g} s timeout")
        elif run.exit_code != 0:
            tail = "\n".join(run.output.splitlines()[-15:])
            details.append(f"{example.file}: exit code {run.exit_code}\n{tail}")
        else:
            difference = runner.output_difference(content, run)
            if difference:
                details.append(
                    f"{example.file}: output differs from the recorded "
                    f"{example.name}.out\n" + "\n".join(difference[:40])
                )
    count = len(content.spec.examples)
    return Check(
        f"{count} example{'s' * (count != 1)} match their recorded output", not details, details
    )


def verify_exercise(content: SectionContent, worker: int | None = None) -> list[Check]:
    exercise = content.exercise
    solution = grading.grade(exercise, exercise.solution, worker=worker)
    solution_details = [] if solution.passed else [describe_failure(solution)]
    starter = grading.grade(exercise, exercise.starter, worker=worker)
    starter_details = (
        []
        if not starter.passed
        else ["the untouched starter passes every test: the tests do not test the task"]
    )
    if starter.status == "error" and starter.message and "No tests ran" in starter.message:
        starter_details.append("no tests ran against the starter")
    checks = [
        Check(
            f"reference solution passes {len(solution.tests)} tests",
            solution.passed,
            solution_details,
        ),
        Check("untouched starter fails", not starter_details, starter_details),
    ]
    sandboxed = verify_in_sandbox(content)
    if sandboxed is not None:
        checks.append(sandboxed)
    return checks


def verify_in_sandbox(content: SectionContent) -> Check | None:
    """Cohort servers grade in the sandbox: the reference must pass there too, as declared
    (verified over JSON, or practice). Skipped for service exercises (the sandbox has no
    network; they are checked locally) and where the sandbox cannot run (not root, no bwrap)."""
    from pymastery.core.sandbox import supervisor

    exercise = content.exercise
    if exercise.spec.services or supervisor.unavailable_reason() is not None:
        return None
    result = grading.grade(exercise, exercise.solution, sandbox=True)
    details = [] if result.passed else [describe_failure(result)]
    if not result.passed and exercise.spec.grading is Grading.VERIFIED:
        details.append(
            "if its tests pass objects that cannot cross as JSON, set `grading: practice` "
            "in exercise.yaml (docs/content-format.md)"
        )
    return Check(
        f"reference solution passes in the cohort sandbox ({exercise.spec.grading})",
        result.passed,
        details,
    )


def describe_failure(result: grading.GradeResult) -> str:
    lines = [f"status {result.status}"]
    if result.message:
        lines.append(result.message)
    lines += [
        f"{test.name}: {test.status}: {test.message}"
        for test in result.tests
        if test.status != "pass"
    ]
    return "\n".join(lines)


def tool(name: str) -> list[str] | None:
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else None


def lint(files: Sequence[Path], project_root: Path) -> dict[Path, list[str]]:
    """ruff (check and format) and mypy --strict findings, keyed by file."""
    findings: dict[Path, list[str]] = defaultdict(list)
    if not files:
        return findings
    ruff = tool("ruff")
    if ruff is None:
        findings[files[0]].append("ruff is not installed (install the dev dependencies)")
    else:
        names = [str(path) for path in files]
        checked = subprocess.run(
            [*ruff, "check", "--quiet", "--output-format", "concise", *names],
            cwd=project_root,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in checked.stdout.splitlines():
            attribute(line, files, findings)
        formatted = subprocess.run(
            [*ruff, "format", "--check", "--quiet", *names],
            cwd=project_root,
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (formatted.stdout + formatted.stderr).splitlines():
            if line.startswith("Would reformat: "):
                path = Path(line.removeprefix("Would reformat: ")).resolve()
                findings[path].append("ruff format would reformat this file")
    for batch in unique_module_batches(files):
        command = [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--hide-error-context",
            "--no-color-output",
            "--cache-dir",
            str(cache_dir() / "mypy"),
            *map(str, batch),
        ]
        checked = subprocess.run(
            command, cwd=project_root, capture_output=True, text=True, check=False
        )
        if checked.returncode not in (0, 1):
            findings[batch[0]].append("mypy failed to run: " + checked.stderr.strip()[-500:])
        for line in checked.stdout.splitlines():
            if ": error:" in line:
                attribute(line, files, findings)
    return findings


def attribute(line: str, files: Sequence[Path], findings: dict[Path, list[str]]) -> None:
    reported = Path(line.split(":", 1)[0]).resolve()
    for path in files:
        if path.resolve() == reported:
            findings[path].append(line.split(":", 1)[1] if ":" in line else line)
            return


def unique_module_batches(files: Iterable[Path]) -> list[list[Path]]:
    """Split files so no batch holds two modules of one name (mypy refuses duplicates)."""
    batches: list[tuple[set[str], list[Path]]] = []
    for path in files:
        if not path.is_file():
            continue
        for names, batch in batches:
            if path.stem not in names:
                names.add(path.stem)
                batch.append(path)
                break
        else:
            batches.append(({path.stem}, [path]))
    return [batch for _, batch in batches]


def verify_sections(
    sections: Sequence[Section],
    project_root: Path,
    workers: int = 2,
    on_report: Callable[[SectionReport], None] | None = None,
) -> list[SectionReport]:
    written = [section for section in sections if section.content is not None]
    contents = [section.content for section in written if section.content is not None]
    needed = (
        set().union(*(section_services(content) for content in contents)) if contents else set()
    )
    blocked = services.unreachable(needed)
    if blocked:
        report = SectionReport(
            "services", "services the sections need", [Check("services reachable", False, blocked)]
        )
        if on_report:
            on_report(report)
        return [report]
    problems = services.ensure_databases(needed)
    for worker in range(workers):
        problems += services.ensure_databases(needed, worker)
    if problems:
        report = SectionReport(
            "services", "example databases", [Check("example databases ready", False, problems)]
        )
        if on_report:
            on_report(report)
        return [report]

    files = [path for content in contents for path in code_files(content)]
    findings = lint(files, project_root)

    def verify_one(section: Section, worker: int) -> SectionReport:
        content = section.content
        assert content is not None
        report = SectionReport(section.key, section.title)
        report.checks.append(verify_examples(content, worker))
        report.checks.extend(verify_exercise(content, worker))
        lint_details = [
            f"{path.relative_to(content.folder)}:{finding}"
            for path in code_files(content)
            for finding in findings.get(path, [])
        ]
        report.checks.append(Check("ruff and mypy --strict clean", not lint_details, lint_details))
        return report

    slots = list(range(workers))
    reports: list[SectionReport] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:

        def with_slot(section: Section) -> SectionReport:
            worker = slots.pop()
            try:
                return verify_one(section, worker)
            finally:
                slots.append(worker)

        for report in pool.map(with_slot, written):
            reports.append(report)
            if on_report:
                on_report(report)
    return reports


def project_code_files(project: Project) -> list[Path]:
    """The reference implementation is held to ruff and mypy --strict like the examples."""
    return sorted(project.reference.rglob("*.py"))


def verify_project(
    project: Project, project_root: Path, worker: int | None = None
) -> SectionReport:
    report = SectionReport(f"capstone {project.spec.capstone}", project.spec.title)
    blocked = services.prepare(project.spec.services, worker)
    if blocked:
        report.checks.append(Check("services reachable", False, blocked))
        return report
    limit = project.spec.time_limit
    reference = grading.grade_project(project.acceptance, project.reference, limit, worker)
    report.checks.append(
        Check(
            f"reference passes {len(reference.tests)} acceptance tests",
            reference.passed,
            [] if reference.passed else [describe_failure(reference)],
        )
    )
    starter = grading.grade_project(project.acceptance, project.starter, limit, worker)
    report.checks.append(
        Check(
            "starter fails the acceptance suite",
            not starter.passed,
            ["the untouched starter passes: the suite does not test the task"]
            if starter.passed
            else [],
        )
    )
    files = project_code_files(project)
    findings = lint(files, project_root)
    details = [
        f"{path.relative_to(project.folder)}:{finding}"
        for path in files
        for finding in findings.get(path, [])
    ]
    report.checks.append(Check("reference is ruff and mypy --strict clean", not details, details))
    return report
