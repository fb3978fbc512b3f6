"""Load `curriculum/` into an immutable Catalog, collecting every problem on the way."""

from __future__ import annotations

import re
from pathlib import Path

from pymastery.core import checks
from pymastery.core.check_cache import CheckCache, folder_fingerprint
from pymastery.core.locations import default_root
from pymastery.core.model import (
    Catalog,
    Exercise,
    ExerciseFile,
    LearningPath,
    Module,
    ModuleFile,
    Project,
    ProjectFile,
    QuizFile,
    Section,
    SectionContent,
    SectionFile,
)
from pymastery.core.problems import Problems
from pymastery.core.textfiles import parse_model, read_text, read_yaml, validate_model

MODULE_FOLDER = re.compile(r"^(\d{2})-([a-z0-9-]+)$")
SECTION_FOLDER = re.compile(r"^(\d{2})-([a-z0-9-]+)$")
ALLOWED_TOP_LEVEL = {"paths.yaml", "README.md", "projects"}


def load_paths(root: Path, problems: Problems) -> tuple[LearningPath, ...]:
    path = root / "paths.yaml"
    document = read_yaml(path, problems)
    if document is None:
        return ()
    if not isinstance(document.data, list):
        problems.add(path, 1, "expected a list of learning paths")
        return ()
    loaded = []
    for index in range(len(document.data)):
        learning_path = validate_model(LearningPath, document, path, problems, (index,))
        if learning_path is not None:
            loaded.append(learning_path)
    return tuple(loaded)


def load_projects(folder: Path, problems: Problems) -> tuple[Project, ...]:
    if not folder.is_dir():
        return ()
    loaded = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if not child.is_dir() or not SECTION_FOLDER.match(child.name):
            problems.add(
                child,
                1,
                "unexpected entry in projects/ (projects are folders named "
                "NN-slug, NN the capstone number)",
            )
            continue
        spec = parse_model(ProjectFile, child / "project.yaml", problems)
        specification = read_text(child / "spec.md", problems)
        if spec is None or specification is None:
            continue
        project = Project(spec=spec, folder=child, specification=specification)
        checks.check_project(project, problems)
        loaded.append(project)
    return tuple(loaded)


def load_section_content(folder: Path, problems: Problems) -> SectionContent | None:
    lesson = read_text(folder / "lesson.md", problems)
    spec = parse_model(SectionFile, folder / "section.yaml", problems)
    exercise_folder = folder / "exercise"
    exercise_spec = parse_model(ExerciseFile, exercise_folder / "exercise.yaml", problems)
    instructions = read_text(exercise_folder / "instructions.md", problems)
    quiz = parse_model(QuizFile, folder / "quiz.yaml", problems)
    if (
        lesson is None
        or spec is None
        or exercise_spec is None
        or instructions is None
        or quiz is None
    ):
        return None
    exercise = Exercise(spec=exercise_spec, folder=exercise_folder, instructions=instructions)
    return SectionContent(folder=folder, lesson=lesson, spec=spec, exercise=exercise, quiz=quiz)


def load_module(folder: Path, problems: Problems, check_cache: CheckCache) -> Module | None:
    meta_path = folder / "module.yaml"
    meta = parse_model(ModuleFile, meta_path, problems)
    if meta is None:
        return None
    expected_name = f"{meta.number:02}-{meta.id}"
    if folder.name != expected_name:
        problems.add(
            meta_path,
            1,
            f"folder is named {folder.name!r} but id and number make {expected_name!r}",
        )
    planned = {
        f"{index:02}-{plan.slug}": (index, plan)
        for index, plan in enumerate(meta.sections, start=1)
    }
    seen_slugs: set[str] = set()
    for plan in meta.sections:
        if plan.slug in seen_slugs:
            problems.add(meta_path, 1, f"section slug {plan.slug!r} appears twice")
        seen_slugs.add(plan.slug)

    contents: dict[str, SectionContent] = {}
    complete: set[str] = set()
    for child in sorted(folder.iterdir()):
        if child.name == "module.yaml":
            continue
        if not child.is_dir() or not SECTION_FOLDER.match(child.name):
            problems.add(
                child, 1, "unexpected entry in a module folder (sections are folders named NN-slug)"
            )
            continue
        if child.name not in planned:
            problems.add(
                child,
                1,
                "section folder matches no section in module.yaml "
                "(expected one of: " + ", ".join(sorted(planned)) + ")",
            )
            continue
        load_problems = Problems()
        content = load_section_content(child, load_problems)
        problems.extend(load_problems)
        if content is None:
            continue
        plan = planned[child.name][1]
        fingerprint = folder_fingerprint(child, plan.model_dump_json())
        check_problems = check_cache.get(child, fingerprint)
        if check_problems is None:
            check_problems = Problems()
            checks.check_section(content, plan, check_problems)
            check_cache.put(child, fingerprint, check_problems)
        contents[child.name] = content
        if not load_problems and not check_problems:
            complete.add(child.name)
        problems.extend(check_problems)

    sections = tuple(
        Section(
            module_number=meta.number,
            number=index,
            plan=plan,
            folder_name=name,
            content=contents.get(name),
            complete=name in complete,
        )
        for name, (index, plan) in planned.items()
    )
    return Module(meta=meta, folder=folder, sections=sections)


def load_catalog(
    root: Path | None = None, cache_folder: Path | None = None
) -> tuple[Catalog, Problems]:
    """The catalog and every problem in it; with a cache folder, unchanged sections are not
    checked again (see check_cache)."""
    root = (root or default_root()).resolve()
    problems = Problems()
    check_cache = CheckCache(cache_folder, root)
    modules: list[Module] = []
    if not root.is_dir():
        problems.add(root, 1, "curriculum folder not found")
        return Catalog(root=root, modules=(), paths=()), problems
    for child in sorted(root.iterdir()):
        if child.name.startswith(".") or child.name in ALLOWED_TOP_LEVEL:
            continue
        if child.is_dir() and MODULE_FOLDER.match(child.name):
            module = load_module(child, problems, check_cache)
            if module is not None:
                modules.append(module)
        else:
            problems.add(
                child, 1, "unexpected entry in curriculum/ (modules are folders named NN-module-id)"
            )
    paths = load_paths(root, problems)
    projects = load_projects(root / "projects", problems)
    catalog = Catalog(root=root, modules=tuple(modules), paths=paths, projects=projects)
    checks.check_catalog(catalog, problems)
    check_cache.save()
    return catalog, problems
