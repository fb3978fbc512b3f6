"""Where things live: the project's curriculum and the per-user cache."""

from __future__ import annotations

import os
from pathlib import Path


def default_root() -> Path:
    """The project's own curriculum folder (next to `src/` in a checkout)."""
    return Path(__file__).resolve().parents[3] / "curriculum"


def cache_dir() -> Path:
    configured = os.environ.get("PYMASTERY_CACHE_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pymastery"))
