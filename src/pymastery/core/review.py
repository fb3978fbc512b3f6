"""Spaced repetition of quiz questions with FSRS.

A card is one multiple-choice question of one section. Answering it right schedules it further out,
answering it wrong brings it back soon; FSRS decides how far from the card's stability and
difficulty. Cards are stored by the shells as FSRS's own JSON, so this module holds no state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from fsrs import Card, Rating, Scheduler


@dataclass(frozen=True)
class Scheduled:
    card_json: str
    due: datetime


@cache
def scheduler(fuzz: bool = True) -> Scheduler:
    return Scheduler(enable_fuzzing=fuzz)


def rating_for(correct: bool) -> Rating:
    """A multiple-choice answer is pass/fail: Good when right, Again when wrong."""
    return Rating.Good if correct else Rating.Again


def review(card_json: str | None, correct: bool, now: datetime, fuzz: bool = True) -> Scheduled:
    """The card after one answer at `now` (a new card when `card_json` is None)."""
    card = Card.from_json(card_json) if card_json else Card(due=now)
    updated, _ = scheduler(fuzz).review_card(card, rating_for(correct), review_datetime=now)
    return Scheduled(updated.to_json(), updated.due)
