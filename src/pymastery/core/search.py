"""Full-text search over lessons, quizzes, exercises and the plan's titles and subtopics.

SQLite FTS5 with the Porter stemmer. A section's outline (title, subtopics, headings) and its body
(lesson, exercise, quiz) are indexed in two tables and ranked with BM25 separately, then added with
the body weighted down: BM25 normalises by document length, so in one table a long written lesson
would bury its own title match under a planned section's short one. The index is a file in the
cache, rebuilt only when the curriculum's fingerprint changes.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pymastery.core.model import Catalog, Section

# bm25() weights of the outline's columns (title, subtopics, headings), and of the body's score
# relative to the outline's.
OUTLINE_WEIGHTS = (10.0, 4.0, 2.0)
BODY_WEIGHT = 0.5
CANDIDATES = 60
TOKENIZER = "tokenize = 'porter unicode61 remove_diacritics 2'"
SCHEMA = f"""
CREATE TABLE sections (id INTEGER PRIMARY KEY, section TEXT, title TEXT, module TEXT,
                       planned INTEGER);
CREATE VIRTUAL TABLE outline USING fts5(title, subtopics, headings, {TOKENIZER});
CREATE VIRTUAL TABLE body USING fts5(content, {TOKENIZER});
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
        documents = [
            section_document(section, module.meta.title)
            for module in catalog.modules
            for section in module.sections
        ]
        for rowid, (key, module, planned, title, subtopics, headings, body) in enumerate(
            documents, start=1
        ):
            connection.execute(
                "INSERT INTO sections VALUES (?, ?, ?, ?, ?)", (rowid, key, title, module, planned)
            )
            connection.execute(
                "INSERT INTO outline(rowid, title, subtopics, headings) VALUES (?, ?, ?, ?)",
                (rowid, title, subtopics, headings),
            )
            connection.execute("INSERT INTO body(rowid, content) VALUES (?, ?)", (rowid, body))
        for table in ("outline", "body"):
            connection.execute(f"INSERT INTO {table}({table}) VALUES ('optimize')")
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
            scores: dict[int, float] = {}
            for rowid, score in self.connection.execute(
                "SELECT rowid, -bm25(outline, ?, ?, ?) FROM outline WHERE outline MATCH ? "
                "ORDER BY 2 DESC LIMIT ?",
                (*OUTLINE_WEIGHTS, expression, CANDIDATES),
            ):
                scores[rowid] = score
            for rowid, score in self.connection.execute(
                "SELECT rowid, -bm25(body) FROM body WHERE body MATCH ? ORDER BY 2 DESC LIMIT ?",
                (expression, CANDIDATES),
            ):
                scores[rowid] = scores.get(rowid, 0.0) + BODY_WEIGHT * score
            if scores:
                ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:limit]
                return self.hits(expression, ranked)
        return []

    def hits(self, expression: str, ranked: list[tuple[int, float]]) -> list[Hit]:
        """Snippets are cut in Python from the winners' text: FTS5's snippet() re-scans each
        whole lesson and cost 10-180 ms a query, the ranking itself under 2 ms."""
        rowids = [rowid for rowid, _ in ranked]
        marks = ", ".join("?" * len(rowids))
        pattern = highlight_pattern(expression)
        texts = dict(
            self.connection.execute(
                f"SELECT rowid, content FROM body WHERE rowid IN ({marks})", rowids
            )
        )
        outlines = {
            row[0]: " ".join(row[1:])
            for row in self.connection.execute(
                f"SELECT rowid, title, subtopics, headings FROM outline WHERE rowid IN ({marks})",
                rowids,
            )
        }
        details = {
            row[0]: row[1:]
            for row in self.connection.execute(
                f"SELECT id, section, title, module, planned FROM sections WHERE id IN ({marks})",
                rowids,
            )
        }
        return [
            Hit(
                key,
                title,
                module,
                score,
                snippet(texts.get(rowid) or "", pattern)
                or snippet(outlines.get(rowid) or "", pattern),
                bool(planned),
            )
            for rowid, score in ranked
            for key, title, module, planned in [details[rowid]]
        ]


SNIPPET_WORDS = 12


def highlight_pattern(expression: str) -> re.Pattern[str]:
    """Words that match the query's terms, roughly as the porter stemmer does: a term's stem
    followed by any ending ("cancel" marks "cancelled" and "cancellation")."""
    terms = re.findall(r'"([^"]+)"', expression)
    parts = []
    for term in terms:
        if len(term) <= 3:  # "n", "1", "orm": whole words only
            parts.append(re.escape(term) + r"\b")
        else:
            parts.append(re.escape(term[: max(4, len(term) - 2)]) + r"\w*")
    return re.compile(r"\b(?:" + "|".join(parts) + r")", re.IGNORECASE)


def snippet(text: str, pattern: re.Pattern[str]) -> str:
    """About a dozen words around the first match, matches in [brackets], … where cut."""
    match = pattern.search(text)
    if match is None:
        return ""
    start = max(text.rfind(" ", 0, match.start()), text.rfind("\n", 0, match.start())) + 1
    preceding = text[max(0, start - 20 * SNIPPET_WORDS) : start].split()
    following = text[start : start + 40 * SNIPPET_WORDS].split()
    before = preceding[len(preceding) - SNIPPET_WORDS // 2 :] if preceding else []
    after = following[:SNIPPET_WORDS]
    window = " ".join([*before, *after])
    marked = pattern.sub(lambda found: f"[{found.group(0)}]", window)
    opening = "…" if len(before) < len(preceding) or start > 20 * SNIPPET_WORDS else ""
    closing = "…" if len(after) < len(following) or start + 40 * SNIPPET_WORDS < len(text) else ""
    return f"{opening}{marked}{closing}"


def open_index(root: Path, cache_folder: Path) -> SearchIndex:
    """The index for this exact tree, built on first use (only then is the catalog loaded)."""
    from pymastery.core.summary import fingerprint

    cache_folder.mkdir(parents=True, exist_ok=True)
    path = cache_folder / f"search-{fingerprint(root.resolve())}.sqlite3"
    if not path.exists():
        from pymastery.core.loader import load_catalog

        catalog, _ = load_catalog(root, cache_folder)
        build(catalog, path)
    return SearchIndex(path)
