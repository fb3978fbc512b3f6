"""Remember each section's check results under a fingerprint of its folder and of the checks.

Checking a section (Markdown parsing, compiling every example, the quiz rules) costs tens of
milliseconds, and a catalog of 231 sections is loaded by every `validate`, `status`, search index
and web process. A section's problems depend only on its own files, its plan entry and the checking
code, so they are cached per section; an edited section is the only one checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from pymastery.core.problems import Problem

CORE = Path(__file__).resolve().parent


@cache
def code_fingerprint() -> str:
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(CORE.glob("*.py")):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def folder_fingerprint(folder: Path, plan: str) -> str:
    digest = hashlib.blake2b(plan.encode(), digest_size=16)
    digest.update(code_fingerprint().encode())
    for directory, subfolders, files in os.walk(folder):
        subfolders[:] = sorted(name for name in subfolders if name != "__pycache__")
        for name in sorted(files):
            stat = os.stat(os.path.join(directory, name))
            digest.update(f"{directory}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class CheckCache:
    """Section folder -> (fingerprint, problems); loaded once, saved once, never required."""

    def __init__(self, cache_folder: Path | None, root: Path) -> None:
        key = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
        self.file = cache_folder / f"checks-{key}.json" if cache_folder else None
        self.entries: dict[str, Any] = {}
        self.changed = False
        if self.file is not None:
            try:
                self.entries = dict(json.loads(self.file.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                self.entries = {}

    def get(self, folder: Path, fingerprint: str) -> list[Problem] | None:
        entry = self.entries.get(str(folder))
        if not entry or entry.get("fingerprint") != fingerprint:
            return None
        return [Problem(Path(file), line, message) for file, line, message in entry["problems"]]

    def put(self, folder: Path, fingerprint: str, problems: list[Problem]) -> None:
        self.entries[str(folder)] = {
            "fingerprint": fingerprint,
            "problems": [[str(p.file), p.line, p.message] for p in problems],
        }
        self.changed = True

    def save(self) -> None:
        if self.file is None or not self.changed:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.file.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(self.entries), encoding="utf-8")
            temporary.replace(self.file)
        except OSError:
            pass  # a cache that cannot be written only costs time
