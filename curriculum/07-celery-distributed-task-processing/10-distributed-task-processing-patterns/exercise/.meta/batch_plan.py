"""Plan a chunked billing run and reduce its partial results as a tree.

Three pure functions a nightly job calls before and after it fans work out to Celery:
plan_batches cuts an id range into batches, pick_batch_size chooses how big a batch should be,
and tree_reduce merges per-batch partial totals level by level, as reducer tasks would.
"""

from __future__ import annotations

import math
from collections import Counter


def plan_batches(first_id: int, last_id: int, size: int) -> list[list[int]]:
    """Cut the inclusive id range first_id..last_id into [first, last] batches of at most size ids.

    Batches are in ascending order, cover every id exactly once, and only the last may be
    shorter. An empty range (last_id < first_id) has no batches. A size below 1 raises ValueError.
    """
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    return [[start, min(start + size - 1, last_id)] for start in range(first_id, last_id + 1, size)]


def estimate_wall_ms(
    items: int, size: int, concurrency: int, per_item_ms: float, per_message_ms: float
) -> float:
    """Rounds of batches times the duration of one full batch: the model pick_batch_size uses."""
    messages = math.ceil(items / size)
    rounds = math.ceil(messages / concurrency)
    return rounds * (per_message_ms + min(size, items) * per_item_ms)


def pick_batch_size(
    items: int,
    concurrency: int,
    per_item_ms: float,
    per_message_ms: float,
    max_task_ms: float,
    candidates: list[int],
) -> int:
    """Choose the candidate batch size with the lowest estimated wall time.

    A candidate whose batch would run longer than max_task_ms (per_message_ms plus its items)
    is not allowed. Ties go to the larger size, which sends fewer messages. ValueError if items
    or concurrency is below 1, or if no candidate is allowed.
    """
    if items < 1 or concurrency < 1:
        raise ValueError("items and concurrency must be at least 1")
    allowed = [
        size
        for size in candidates
        if size >= 1 and per_message_ms + min(size, items) * per_item_ms <= max_task_ms
    ]
    if not allowed:
        raise ValueError(f"no batch size in {candidates} finishes within {max_task_ms} ms")
    return min(
        allowed,
        key=lambda size: (
            estimate_wall_ms(items, size, concurrency, per_item_ms, per_message_ms),
            -size,
        ),
    )


def tree_reduce(partials: list[dict[str, int]], fan_in: int) -> dict[str, object]:
    """Merge partial totals as a tree of reducers that each take at most fan_in inputs.

    Each level groups consecutive inputs fan_in at a time and sums each group key by key,
    until one result is left. Returns {"levels": [reducers per level], "totals": {key: sum}}
    with the totals' keys sorted. No partials give {"levels": [], "totals": {}}; a single
    partial needs no reducer. A fan_in below 2 raises ValueError: it would never converge.
    """
    if fan_in < 2:
        raise ValueError(f"fan_in must be at least 2, got {fan_in}")
    levels: list[int] = []
    current = [dict(partial) for partial in partials]
    while len(current) > 1:
        merged: list[dict[str, int]] = []
        for start in range(0, len(current), fan_in):
            total: Counter[str] = Counter()
            for partial in current[start : start + fan_in]:
                total.update(partial)
            merged.append(dict(total))
        levels.append(len(merged))
        current = merged
    totals = current[0] if current else {}
    return {"levels": levels, "totals": dict(sorted(totals.items()))}
