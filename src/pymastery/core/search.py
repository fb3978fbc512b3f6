"""Full-text search over lessons, quizzes, exercises and the plan's titles and subtopics.

SQLite FTS5 with the Porter stemmer; BM25 weighted so that a match in a section's title or
subtopics outranks one in passing prose. The index is a file in the cache, rebuilt only when the
curriculum's fingerprint changes.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pymastery.core.model import Catalog, Section

# Column weights for bm25(): title, subtopics, headings, body.
WEIGHTS = (10.0, 5.0, 3.0, 1.0)
SCHEMA = """
CREATE VIRTUAL TABLE documents USING fts5(
    section UNINDEXED, module UNINDEXED, planned UNINDEXED, title, subtopics, headings, body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
"""


@dataclass(frozen=True)
class Hit:
    section: str
    title: str
    module: str
    score: float
    snippet: str
    planned: bool

    def as_json(self) -> dict[str, str | float | bool]:
        return {
            "section": self.section,
            "title": self.title,
            "module": self.module,
            "score": round(self.score, 4),
            "snippet": self.snippet,
            "planned": self.planned,
        }


def section_document(section: Section, module: str) -> tuple[str, str, int, str, str, str, str]:
    from pymastery.core.lesson import outline
    from pymastery.core.render import plain_text

    subtopics = " ; ".join(section.plan.subtopics)
    content = section.content
    if content is None:
        return section.key, module, 1, section.title, subtopics, "", ""
    headings = " ; ".join(h.text for h in outline(content.lesson).headings)
    quiz = content.quiz
    parts = [
        plain_text(content.lesson),
        content.exercise.spec.title,
        plain_text(content.exercise.instructions),
    ]
    for question in quiz.multiple_choice:
        parts.append(question.question)
        parts += [f"{option.text} {option.explanation}" for option in question.options]
    for discussion in quiz.discussion:
        parts += [discussion.question, discussion.sample_answer]
    return section.key, module, 0, section.title, subtopics, headings, "\n".join(parts)


def build(catalog: Catalog, path: Path) -> None:
    temporary = path.with_suffix(".building")
    temporary.unlink(missing_ok=True)
    with sqlite3.connect(temporary) as connection:
        connection.executescript(SCHEMA)
        connection.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                section_document(section, module.meta.title)
                for module in catalog.modules
                for section in module.sections
            ],
        )
        connection.execute("INSERT INTO documents(documents) VALUES ('optimize')")
    connection.close()
    temporary.replace(path)


def match_expression(query: str, every_term: bool) -> str | None:
    terms = re.findall(r"[\w.]+", query.lower())
    terms = [term.strip(".") for term in terms if term.strip(".")]
    if not terms:
        return None
    quoted = [f'"{term}"' for term in terms]
    quoted[-1] += "*"
    return (" AND " if every_term else " OR ").join(quoted)


class SearchIndex:
    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def search(self, query: str, limit: int = 10) -> list[Hit]:
        for every_term in (True, False):
            expression = match_expression(query, every_term)
            if expression is None:
                return []
            rows = self.connection.execute(
                "SELECT section, title, module, planned, -bm25(documents, 0, 0, 0, ?, ?, ?, ?) "
                "AS score, coalesce(nullif(snippet(documents, 6, '[', ']', '…', 12), ''), "
                "snippet(documents, 4, '[', ']', '…', 12)) FROM documents "
                "WHERE documents MATCH ? ORDER BY score DESC LIMIT ?",
                (*WEIGHTS, expression, limit),
            ).fetchall()
            if rows:
                return [
                    Hit(key, title, module, score, snippet, bool(int(planned)))
                    for key, title, module, planned, score, snippet in rows
                ]
        return []


def open_index(root: Path, cache_folder: Path) -> SearchIndex:
    """The index for this exact tree, built on first use (only then is the catalog loaded)."""
    from pymastery.core.summary import fingerprint

    cache_folder.mkdir(parents=True, exist_ok=True)
    path = cache_folder / f"search-{fingerprint(root.resolve())}.sqlite3"
    if not path.exists():
        from pymastery.core.loader import load_catalog

        catalog, _ = load_catalog(root)
        build(catalog, path)
    return SearchIndex(path)
