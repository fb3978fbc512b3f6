"""A problem found in the content: one line `file:line: message`."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    message: str

    def render(self, relative_to: Path | None = None) -> str:
        shown = self.file
        if relative_to is not None:
            with contextlib.suppress(ValueError):
                shown = self.file.relative_to(relative_to)
        return f"{shown}:{self.line}: {self.message}"

    def as_json(self, relative_to: Path | None = None) -> dict[str, str | int]:
        return {
            "file": self.render(relative_to).rsplit(":", 2)[0],
            "line": self.line,
            "message": self.message,
        }


class Problems(list[Problem]):
    """Problems collected while loading or checking; keeps going after each one."""

    def add(self, file: Path, line: int, message: str) -> None:
        self.append(Problem(file, max(line, 1), message))
