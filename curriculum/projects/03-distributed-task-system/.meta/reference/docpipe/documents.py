"""Documents as submitted, their validation, and the pure computations on pages.

Nothing here touches a broker or a database: a page's analysis and the job summary are plain
functions of the submitted text, which is what lets the acceptance suite compute the expected
results on its own, and what makes a redelivered task produce the same result twice.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

MAX_PAGES = 200
MAX_TITLE = 200
MAX_SIMULATED_SECONDS = 30.0
PAGE_FIELDS = frozenset({"text", "ocr_seconds", "preview_seconds", "fail_times", "corrupt"})
DOCUMENT_FIELDS = frozenset({"title", "priority", "pages"})


class InvalidDocument(ValueError):
    """A submitted document breaks the contract; the message names the offending field."""


@dataclass(frozen=True)
class PageSpec:
    text: str
    ocr_seconds: float = 0.0  # simulated recognition time, before the result exists
    preview_seconds: float = 0.0  # simulated preview upload, after the result is recorded
    fail_times: int = 0  # the first fail_times attempts fail transiently
    corrupt: bool = False  # every attempt fails permanently

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "PageSpec":
        return cls(**{key: data[key] for key in PAGE_FIELDS if key in data})


@dataclass(frozen=True)
class Document:
    title: str
    priority: int
    pages: tuple[PageSpec, ...]


def parse_document(raw: object) -> Document:
    """Validate a submitted document (parsed JSON) and return it, or raise InvalidDocument."""
    if not isinstance(raw, Mapping):
        raise InvalidDocument(f"the document must be a JSON object, not {json_type(raw)}")
    unknown(raw, DOCUMENT_FIELDS, "the document")
    title = raw.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidDocument("title is required and must be a non-empty string")
    if len(title) > MAX_TITLE:
        raise InvalidDocument(f"title is longer than {MAX_TITLE} characters")
    priority = raw.get("priority", 0)
    if not is_int(priority) or not 0 <= priority <= 9:
        raise InvalidDocument(f"priority must be an integer from 0 to 9, not {priority!r}")
    pages = raw.get("pages")
    if not isinstance(pages, list) or not 1 <= len(pages) <= MAX_PAGES:
        raise InvalidDocument(f"pages is required: a list of 1 to {MAX_PAGES} page objects")
    return Document(
        title, priority, tuple(parse_page(page, index) for index, page in enumerate(pages))
    )


def parse_page(raw: object, index: int) -> PageSpec:
    where = f"pages[{index}]"
    if not isinstance(raw, Mapping):
        raise InvalidDocument(f"{where} must be an object, not {json_type(raw)}")
    unknown(raw, PAGE_FIELDS, where)
    text = raw.get("text")
    if not isinstance(text, str):
        raise InvalidDocument(f"{where}.text is required and must be a string")
    seconds = {}
    for name in ("ocr_seconds", "preview_seconds"):
        value = raw.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidDocument(f"{where}.{name} must be a number of seconds")
        if not 0 <= value <= MAX_SIMULATED_SECONDS:
            raise InvalidDocument(f"{where}.{name} must be from 0 to {MAX_SIMULATED_SECONDS:g}")
        seconds[name] = float(value)
    fail_times = raw.get("fail_times", 0)
    if not is_int(fail_times) or fail_times < 0:
        raise InvalidDocument(f"{where}.fail_times must be an integer ≥ 0")
    corrupt = raw.get("corrupt", False)
    if not isinstance(corrupt, bool):
        raise InvalidDocument(f"{where}.corrupt must be true or false")
    return PageSpec(text, seconds["ocr_seconds"], seconds["preview_seconds"], fail_times, corrupt)


def unknown(raw: Mapping[Any, Any], allowed: frozenset[str], where: str) -> None:
    extra = sorted(str(key) for key in raw.keys() - allowed)
    if extra:
        raise InvalidDocument(f"{where} has unknown fields: {', '.join(extra)}")


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def json_type(value: object) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def analyse_page(number: int, text: str) -> dict[str, Any]:
    """What recognising one page yields (the suite recomputes it from the text)."""
    return {
        "page": number,
        "words": len(text.split()),
        "characters": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def summarise(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine per-page results, given in page order, into the job's summary."""
    ordered = list(results)
    digest = hashlib.sha256("".join(str(result["sha256"]) for result in ordered).encode("ascii"))
    return {
        "pages": len(ordered),
        "words": sum(int(result["words"]) for result in ordered),
        "characters": sum(int(result["characters"]) for result in ordered),
        "digest": digest.hexdigest(),
    }
