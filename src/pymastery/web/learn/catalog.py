"""The catalog as the web process sees it: loaded once, lessons rendered once each."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from pymastery.core.catalog_cache import cached_catalog
from pymastery.core.locations import cache_dir, default_root
from pymastery.core.model import Catalog, Section
from pymastery.core.render import RenderedLesson, render_lesson
from pymastery.core.search import SearchIndex, open_index


def curriculum_root() -> Path:
    configured = os.environ.get("PYMASTERY_CURRICULUM")
    return Path(configured) if configured else default_root()


@cache
def catalog() -> Catalog:
    loaded, _ = cached_catalog(curriculum_root(), cache_dir())
    return loaded


@cache
def lesson(key: str) -> RenderedLesson | None:
    section = catalog().section(key)
    if section is None or section.content is None:
        return None
    return render_lesson(section.content)


@cache
def search_index() -> SearchIndex:
    return open_index(curriculum_root(), cache_dir())


@cache
def ordered_keys() -> dict[str, int]:
    return {section.key: index for index, section in enumerate(catalog().sections)}


def neighbours(section: Section) -> tuple[Section | None, Section | None]:
    ordered = catalog().sections
    index = ordered_keys()[section.key]
    before = ordered[index - 1] if index > 0 else None
    after = ordered[index + 1] if index + 1 < len(ordered) else None
    return before, after
