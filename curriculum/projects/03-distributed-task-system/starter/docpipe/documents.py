"""Documents as submitted, their validation, and the pure computations on pages.

Nothing here touches a broker or a database: a page's analysis and the job summary are plain
functions of the submitted text, which is what lets the acceptance suite compute the expected
results on its own, and what makes a redelivered task produce the same result twice.
"""

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
    """Validate a submitted document (parsed JSON) and return it, or raise InvalidDocument.

    The rules are in spec.md ("The document"). Each message names the field, with its path
    for a page's field (`pages[2].fail_times`), and unknown fields are refused by name: a
    client that misspells `fail_times` should hear about it, not have it ignored. Careful:
    in Python `True` is an int, and JSON `true` must not pass as priority 1.
    """
    raise NotImplementedError("TODO: parse_document")


def analyse_page(number: int, text: str) -> dict[str, Any]:
    """What recognising one page yields: {"page", "words", "characters", "sha256"}.

    words is len(text.split()), characters len(text), sha256 the hex digest of the UTF-8
    bytes.
    """
    raise NotImplementedError("TODO: analyse_page")


def summarise(results: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine per-page results, given in page order, into the job's summary:
    {"pages", "words", "characters", "digest"}, digest being the SHA-256 (hex) of the
    pages' sha256 strings concatenated in page order (ASCII)."""
    raise NotImplementedError("TODO: summarise")
