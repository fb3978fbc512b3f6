"""The whole loaded catalog, pickled under the tree's fingerprint, for processes that start often.

Loading reads and validates every content file; a web worker, the CLI and the search index only
need the result. When neither the content nor the checking code changed since the last load, the
pickled Catalog and its Problems are returned as they were.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

from pymastery.core.loader import load_catalog
from pymastery.core.locations import default_root
from pymastery.core.model import Catalog
from pymastery.core.problems import Problems
from pymastery.core.summary import fingerprint


def cached_catalog(root: Path | None, cache_folder: Path) -> tuple[Catalog, Problems]:
    root = (root or default_root()).resolve()
    key = hashlib.blake2b(str(root).encode(), digest_size=8).hexdigest()
    cache_file = cache_folder / f"catalog-{key}.pickle"
    current = fingerprint(root)
    try:
        with cache_file.open("rb") as stored:
            saved_fingerprint, catalog, problems = pickle.load(stored)
        if saved_fingerprint == current:
            return catalog, problems
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, AttributeError, ImportError):
        pass
    catalog, problems = load_catalog(root, cache_folder)
    try:
        cache_folder.mkdir(parents=True, exist_ok=True)
        temporary = cache_file.with_suffix(f".{os.getpid()}.tmp")
        with temporary.open("wb") as stored:
            pickle.dump((current, catalog, problems), stored, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(cache_file)
    except (OSError, pickle.PicklingError):
        pass  # a cache that cannot be written only costs time
    return catalog, problems
