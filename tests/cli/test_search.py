"""`pymastery search`: the plan and the written content, best match first."""

from __future__ import annotations

import json

from tests.conftest import Learner


def search(learner: Learner, query: str) -> list[dict[str, object]]:
    result = learner.run("search", query, "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert isinstance(hits, list)
    return hits


def test_results_carry_section_title_and_score_best_first(learner: Learner) -> None:
    hits = search(learner, "relationship loading strategies")
    assert hits, "the plan's titles are searchable from day one"
    assert hits[0]["section"] == "5.6"
    assert {"section", "title", "score"} <= set(hits[0])
    scores = [float(str(hit["score"])) for hit in hits]
    assert scores == sorted(scores, reverse=True)


def test_a_planned_sections_subtopics_are_found(learner: Learner) -> None:
    from pymastery.core.loader import load_catalog

    catalog, _ = load_catalog()
    planned = next(s for s in catalog.sections if not s.written)
    hits = search(learner, planned.title)
    assert hits[0]["section"] == planned.key
    assert hits[0]["planned"] is True


def test_a_title_match_outranks_long_lessons_that_mention_the_words(learner: Learner) -> None:
    assert search(learner, "alembic batch operations sqlite")[0]["section"] == "5.9"
    assert search(learner, "connection pool")[0]["section"] in {"5.2", "5.10", "5.14"}


def test_written_lessons_are_searched_by_their_text(learner: Learner) -> None:
    hits = search(learner, "DB-API cursor")
    assert hits[0]["section"] == "5.1"
    assert hits[0]["planned"] is False


def test_stemming_matches_other_forms_of_a_word(learner: Learner) -> None:
    assert search(learner, "migrating databases")[0]["section"] in {"5.8", "5.9"}


def test_a_query_with_no_words_returns_nothing(learner: Learner) -> None:
    assert search(learner, "?!") == []
