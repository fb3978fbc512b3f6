"""The numbers behind the progress dashboard, in a fixed number of queries."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import User
from django.db.models import Min
from django.utils import timezone

from pymastery.core.model import Catalog, LearningPath
from pymastery.web.progress.models import ExerciseAttempt, QuizAnswer, ReviewCard, SectionVisit


@dataclass(frozen=True)
class ModuleProgress:
    number: int
    title: str
    icon: str
    sections: int
    written: int
    read: int
    passed: int
    answered: int
    correct: int
    due: int

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.answered if self.answered else None


@dataclass(frozen=True)
class PathProgress:
    path: LearningPath
    written: int
    passed: int

    @property
    def share(self) -> float:
        return self.passed / self.written if self.written else 0.0


@dataclass(frozen=True)
class Dashboard:
    modules: list[ModuleProgress]
    paths: list[PathProgress]
    passes_by_day: list[tuple[date, int]]  # cumulative sections passed, by day of first pass
    due_total: int


def module_of(key: str) -> int:
    return int(key.split(".", 1)[0])


def build(catalog: Catalog, learner: User) -> Dashboard:
    now = timezone.now()
    first_passes = dict(
        ExerciseAttempt.objects.filter(learner=learner, status=ExerciseAttempt.Status.PASS)
        .values("section")
        .annotate(first=Min("created_at"))
        .values_list("section", "first")
    )
    read = set(SectionVisit.objects.filter(learner=learner).values_list("section", flat=True))
    answers = QuizAnswer.objects.filter(learner=learner, kind=QuizAnswer.Kind.MULTIPLE_CHOICE)
    answered: Counter[int] = Counter()
    correct: Counter[int] = Counter()
    for section, was_correct in answers.values_list("section", "correct"):
        answered[module_of(section)] += 1
        correct[module_of(section)] += bool(was_correct)
    due: Counter[int] = Counter(
        module_of(section)
        for section in ReviewCard.objects.filter(learner=learner, due__lte=now).values_list(
            "section", flat=True
        )
    )

    modules = []
    for module in catalog.modules:
        keys = [s.key for s in module.sections]
        modules.append(
            ModuleProgress(
                number=module.number,
                title=module.meta.title,
                icon=module.meta.icon,
                sections=len(keys),
                written=sum(s.written for s in module.sections),
                read=sum(k in read for k in keys),
                passed=sum(k in first_passes for k in keys),
                answered=answered[module.number],
                correct=correct[module.number],
                due=due[module.number],
            )
        )

    by_number = {m.number: m for m in modules}
    paths = [
        PathProgress(
            path,
            sum(by_number[n].written for n in path.modules if n in by_number),
            sum(by_number[n].passed for n in path.modules if n in by_number),
        )
        for path in catalog.paths
    ]

    per_day: dict[date, int] = defaultdict(int)
    for first in first_passes.values():
        per_day[timezone.localtime(first).date()] += 1
    cumulative, running = [], 0
    for day in sorted(per_day):
        running += per_day[day]
        cumulative.append((day, running))
    return Dashboard(modules, paths, cumulative, sum(due.values()))
