"""Lesson structure: the eight parts, headings, and example includes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from markdown_it import MarkdownIt

PARTS = (
    "Why this matters in production",
    "How it works",
    "Code",
    "Real-world use cases",
    "Hands-on exercise",
    "Common pitfalls",
    "Best practices",
    "Performance considerations",
)

INCLUDE_ATTRIBUTE = re.compile(r"(\w+)=(\S+)")


@dataclass(frozen=True)
class Include:
    """An empty fenced block showing an example's source (`file=`) or its recorded `output=`."""

    line: int
    kind: str  # "file" or "output"
    target: str
    lines: tuple[int, int] | None
    body: str
    language: str


@dataclass(frozen=True)
class Heading:
    level: int
    text: str
    line: int


@dataclass
class LessonOutline:
    headings: list[Heading] = field(default_factory=list)
    includes: list[Include] = field(default_factory=list)
    bad_includes: list[tuple[int, str]] = field(default_factory=list)
    prose_words: dict[str, int] = field(default_factory=dict)
    line_count: int = 0


@cache
def markdown() -> MarkdownIt:
    """Block structure only: the outline needs headings, fences and the raw text of paragraphs,
    so inline parsing (half the cost) is switched off."""
    return MarkdownIt("commonmark").enable("table").disable("inline")


def parse_include(info: str, line: int, body: str) -> Include | str | None:
    """An include from a fence's info string; an error message if malformed; None if ordinary."""
    words = info.split()
    attributes = dict(INCLUDE_ATTRIBUTE.findall(info))
    kinds = [kind for kind in ("file", "output") if kind in attributes]
    if not kinds:
        return None
    if len(kinds) == 2:
        return "an include names both file= and output=; use one"
    kind = kinds[0]
    unknown = set(attributes) - {kind, "lines"}
    if unknown or len(words) - len(attributes) > 1:
        expected = "'python file=NAME.py lines=3-20'"
        return f"include has unexpected words: {info!r} (expected e.g. {expected})"
    span = None
    if "lines" in attributes:
        if kind == "output":
            return "lines= is only for file= includes"
        match = re.fullmatch(r"(\d+)-(\d+)", attributes["lines"])
        if not match or int(match[1]) < 1 or int(match[1]) > int(match[2]):
            return f"lines={attributes['lines']} is not a range like 12-40"
        span = (int(match[1]), int(match[2]))
    language = "" if "=" in words[0] else words[0]
    return Include(
        line=line, kind=kind, target=attributes[kind], lines=span, body=body, language=language
    )


def outline(text: str) -> LessonOutline:
    result = LessonOutline(line_count=len(text.splitlines()))
    tokens = markdown().parse(text)
    current_part = ""
    for index, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else 1
        if token.type == "heading_open":
            heading_text = tokens[index + 1].content.strip()
            level = int(token.tag[1])
            result.headings.append(Heading(level, heading_text, line))
            if level == 2:
                current_part = heading_text
                result.prose_words.setdefault(current_part, 0)
        elif token.type == "fence":
            parsed = parse_include(token.info, line, token.content)
            if isinstance(parsed, Include):
                result.includes.append(parsed)
            elif isinstance(parsed, str):
                result.bad_includes.append((line, parsed))
        elif token.type == "inline" and current_part and tokens[index - 1].type != "heading_open":
            result.prose_words[current_part] += len(token.content.split())
    return result


def slice_lines(text: str, span: tuple[int, int] | None) -> str:
    if span is None:
        return text
    lines = text.splitlines(keepends=True)
    return "".join(lines[span[0] - 1 : span[1]])
