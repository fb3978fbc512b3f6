"""The content model: what `curriculum/` holds, as immutable Pydantic models."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Kebab = Annotated[str, StringConstraints(pattern=KEBAB)]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Service(StrEnum):
    POSTGRES = "postgres"
    MYSQL = "mysql"
    REDIS = "redis"
    RABBITMQ = "rabbitmq"


class Grading(StrEnum):
    """How cohort mode grades an exercise (docs/content-format.md, docs/architecture.md)."""

    VERIFIED = "verified"  # learner's code and tests in two sandboxes, joined by JSON values
    PRACTICE = "practice"  # the interface cannot cross as JSON: in-process, marked practice


class Difficulty(StrEnum):
    INTERMEDIATE = "Intermediate"
    ADVANCED = "Advanced"
    EXPERT = "Expert"


class PracticalProject(Frozen):
    title: NonEmpty
    description: NonEmpty
    capstone: Annotated[int, Field(ge=1, le=9)] | None = None


class ProductionExample(Frozen):
    title: NonEmpty
    description: NonEmpty


class SectionPlan(Frozen):
    slug: Kebab
    title: NonEmpty
    subtopics: Annotated[tuple[NonEmpty, ...], Field(min_length=1)]


class ModuleFile(Frozen):
    """`module.yaml` as written."""

    id: Kebab
    number: Annotated[int, Field(ge=5, le=20)]
    title: NonEmpty
    icon: NonEmpty
    difficulty: Difficulty
    estimated_time: NonEmpty
    description: NonEmpty
    goal: NonEmpty
    key_takeaways: Annotated[tuple[NonEmpty, ...], Field(min_length=8, max_length=10)]
    learning_objectives: Annotated[tuple[NonEmpty, ...], Field(min_length=5)]
    prerequisites: tuple[Annotated[int, Field(ge=5, le=20)], ...] = ()
    practical_projects: Annotated[tuple[PracticalProject, ...], Field(min_length=1)]
    production_examples: Annotated[tuple[ProductionExample, ...], Field(min_length=3)]
    sections: Annotated[tuple[SectionPlan, ...], Field(min_length=1)]

    @field_validator("description")
    @classmethod
    def two_or_three_sentences(cls, value: str) -> str:
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", value.strip()) if s]
        if not 2 <= len(sentences) <= 3:
            raise ValueError(f"must be 2–3 sentences, found {len(sentences)}")
        return value


class LearningPath(Frozen):
    id: Kebab
    title: NonEmpty
    duration: NonEmpty
    description: NonEmpty
    modules: Annotated[tuple[Annotated[int, Field(ge=5, le=20)], ...], Field(min_length=1)]
    project: NonEmpty


class ExampleSpec(Frozen):
    file: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.py$")]
    title: NonEmpty
    services: tuple[Service, ...] = ()
    timeout: Annotated[float, Field(gt=0, le=60)] = 10
    mask: tuple[str, ...] = ()

    @field_validator("mask")
    @classmethod
    def masks_compile(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"mask {pattern!r} is not a valid regex: {error}") from None
        return patterns

    @property
    def name(self) -> str:
        return self.file.removesuffix(".py")


class SectionFile(Frozen):
    """`section.yaml` as written."""

    examples: Annotated[tuple[ExampleSpec, ...], Field(min_length=1)]
    coverage: dict[NonEmpty, NonEmpty]


class ExerciseFile(Frozen):
    """`exercise/exercise.yaml` as written."""

    title: NonEmpty
    file: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*\.py$")]
    services: tuple[Service, ...] = ()
    hints: Annotated[tuple[NonEmpty, ...], Field(min_length=2, max_length=3)]
    grading: Grading = Grading.VERIFIED


class QuestionKind(StrEnum):
    CONCEPT = "concept"
    SCENARIO = "scenario"
    DEBUGGING = "debugging"
    PERFORMANCE = "performance"
    PRODUCTION = "production"


class DiscussionKind(StrEnum):
    ARCHITECTURE = "architecture"
    TRADE_OFF = "trade-off"
    PROBLEM_SOLVING = "problem-solving"


class Option(Frozen):
    text: NonEmpty
    correct: bool = False
    explanation: NonEmpty


class MultipleChoice(Frozen):
    kind: QuestionKind
    question: NonEmpty
    options: Annotated[tuple[Option, ...], Field(min_length=4, max_length=4)]

    @property
    def correct_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.correct)


class Discussion(Frozen):
    kind: DiscussionKind
    question: NonEmpty
    sample_answer: NonEmpty
    rubric: Annotated[tuple[NonEmpty, ...], Field(min_length=4, max_length=6)]


class QuizFile(Frozen):
    """`quiz.yaml` as written."""

    multiple_choice: Annotated[tuple[MultipleChoice, ...], Field(min_length=5, max_length=5)]
    discussion: Annotated[tuple[Discussion, ...], Field(min_length=3, max_length=3)]


class Exercise(Frozen):
    spec: ExerciseFile
    folder: Path
    instructions: str

    @property
    def starter(self) -> Path:
        return self.folder / self.spec.file

    @property
    def solution(self) -> Path:
        return self.folder / ".meta" / self.spec.file

    @property
    def tests(self) -> Path:
        return self.folder / f"test_{self.spec.file}"


class SectionContent(Frozen):
    """A written section: everything under its folder, loaded."""

    folder: Path
    lesson: str
    spec: SectionFile
    exercise: Exercise
    quiz: QuizFile

    def example(self, name: str) -> ExampleSpec | None:
        wanted = name.removesuffix(".py")
        return next((e for e in self.spec.examples if e.name == wanted), None)

    def example_path(self, example: ExampleSpec) -> Path:
        return self.folder / "examples" / example.file

    def expected_output_path(self, example: ExampleSpec) -> Path:
        return self.folder / "examples" / f"{example.name}.out"

    def supporting_file(self, name: str) -> Path | None:
        """A file beside the examples that is not one (a systemd unit, a Kubernetes manifest:
        configuration that cannot run here, which an example parses and checks instead). The
        lesson includes it like an example's source."""
        path = self.folder / "examples" / name
        if "/" in name or path.suffix in {".py", ".out"} or not path.is_file():
            return None
        return path


class Section(Frozen):
    module_number: int
    number: int
    plan: SectionPlan
    folder_name: str
    content: SectionContent | None = None
    complete: bool = False

    @property
    def key(self) -> str:
        return f"{self.module_number}.{self.number}"

    @property
    def title(self) -> str:
        return self.plan.title

    @property
    def written(self) -> bool:
        return self.content is not None


class Module(Frozen):
    meta: ModuleFile
    folder: Path
    sections: tuple[Section, ...]

    @property
    def number(self) -> int:
        return self.meta.number

    @property
    def complete_count(self) -> int:
        return sum(section.complete for section in self.sections)

    @property
    def complete(self) -> bool:
        return self.complete_count == len(self.sections)


class ProjectFile(Frozen):
    """`projects/NN-slug/project.yaml` as written: a capstone project."""

    capstone: Annotated[int, Field(ge=1, le=9)]
    title: NonEmpty
    module: Annotated[int, Field(ge=5, le=20)]
    summary: NonEmpty
    package: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
    services: tuple[Service, ...] = ()
    estimated_time: NonEmpty
    time_limit: Annotated[float, Field(gt=0, le=1800)] = 300


class Project(Frozen):
    spec: ProjectFile
    folder: Path
    specification: str

    @property
    def starter(self) -> Path:
        return self.folder / "starter"

    @property
    def reference(self) -> Path:
        return self.folder / ".meta" / "reference"

    @property
    def acceptance(self) -> Path:
        return self.folder / "acceptance"

    @property
    def slug(self) -> str:
        return self.folder.name


class Catalog(Frozen):
    root: Path
    modules: tuple[Module, ...]
    paths: tuple[LearningPath, ...]
    projects: tuple[Project, ...] = ()

    def project(self, capstone: int) -> Project | None:
        return next((p for p in self.projects if p.spec.capstone == capstone), None)

    def module(self, number: int) -> Module | None:
        return next((m for m in self.modules if m.number == number), None)

    def section(self, key: str) -> Section | None:
        module_part, _, section_part = key.partition(".")
        if not (module_part.isdigit() and section_part.isdigit()):
            return None
        module = self.module(int(module_part))
        if module is None:
            return None
        return next((s for s in module.sections if s.number == int(section_part)), None)

    @property
    def sections(self) -> tuple[Section, ...]:
        return tuple(s for m in self.modules for s in m.sections)
