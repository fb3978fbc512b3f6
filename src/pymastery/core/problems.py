"""A problem found in the content: one line `file:line: message`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    file: Path
    line: int
    message: str

    def shown_file(self, relative_to: Path | None = None) -> Path:
        if relative_to is not None and self.file.is_relative_to(relative_to):
            return self.file.relative_to(relative_to)
        return self.file

    def render(self, relative_to: Path | None = None) -> str:
        return f"{self.shown_file(relative_to)}:{self.line}: {self.message}"

    def as_json(self, relative_to: Path | None = None) -> dict[str, str | int]:
        return {
            "file": str(self.shown_file(relative_to)),
            "line": self.line,
            "message": self.message,
        }


class Problems(list[Problem]):
    """Problems collected while loading or checking; keeps going after each one."""

    def add(self, file: Path, line: int, message: str) -> None:
        """Record a problem; its message is kept to one line, as the output format promises."""
        self.append(Problem(file, max(line, 1), " ".join(message.split())))
