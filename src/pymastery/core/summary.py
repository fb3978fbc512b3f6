"""Curriculum completion, cached by a fingerprint of the tree so `status` stays fast.

Computing completion runs every static check on every written section. The result only changes
when a content file or the checking code changes, so it is cached under a fingerprint of both
(paths, sizes and modification times); `status` then needs neither Pydantic nor the checks.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

CORE = Path(__file__).resolve().parent
CACHE_FOLDERS = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}


def fingerprint(root: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for folder in (root, CORE):
        for directory, subfolders, files in os.walk(folder):
            subfolders[:] = sorted(name for name in subfolders if name not in CACHE_FOLDERS)
            for name in sorted(files):
                stat = os.stat(os.path.join(directory, name))
                digest.update(f"{directory}/{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def compute(root: Path, cache_folder: Path) -> dict[str, Any]:
    from pymastery.core.loader import load_catalog

    catalog, _ = load_catalog(root, cache_folder)
    return {
        "status": {
            "sections": len(catalog.sections),
            "complete": sum(section.complete for section in catalog.sections),
            "modules": [
                {
                    "number": module.number,
                    "id": module.meta.id,
                    "title": module.meta.title,
                    "sections": len(module.sections),
                    "complete": module.complete_count,
                }
                for module in catalog.modules
            ],
        },
        "icons": {str(module.number): module.meta.icon for module in catalog.modules},
    }


def completion(root: Path, cache_folder: Path) -> dict[str, Any]:
    """{"status": <the `status --json` document>, "icons": {module number: icon}}."""
    root = root.resolve()
    key = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
    cache_file = cache_folder / f"completion-{key}.json"
    current = fingerprint(root)
    try:
        cached = json.loads(cache_file.read_text(encoding="utf-8"))
        if cached.get("fingerprint") == current:
            return dict(cached["completion"])
    except (OSError, ValueError, KeyError):
        pass
    result = compute(root, cache_folder)
    try:
        cache_folder.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(
            json.dumps({"fingerprint": current, "completion": result}), encoding="utf-8"
        )
        temporary.replace(cache_file)
    except OSError:
        pass
    return result
