"""Plan a chunked billing run and reduce its partial results as a tree.

Three pure functions a nightly job calls before and after it fans work out to Celery:
plan_batches cuts an id range into batches, pick_batch_size chooses how big a batch should be,
and tree_reduce merges per-batch partial totals level by level, as reducer tasks would.
"""

from __future__ import annotations

import math


def plan_batches(first_id: int, last_id: int, size: int) -> list[list[int]]:
    """Cut the inclusive id range first_id..last_id into [first, last] batches of at most size ids.

    Batches are in ascending order, cover every id exactly once, and only the last may be
    shorter. An empty range (last_id < first_id) has no batches. A size below 1 raises ValueError.
    """
    # TODO: validate size, then step through the range `size` ids at a time.
    raise NotImplementedError


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
    # TODO: validate, drop candidates that break max_task_ms, then minimise estimate_wall_ms.
    raise NotImplementedError


def tree_reduce(partials: list[dict[str, int]], fan_in: int) -> dict[str, object]:
    """Merge partial totals as a tree of reducers that each take at most fan_in inputs.

    Each level groups consecutive inputs fan_in at a time and sums each group key by key,
    until one result is left. Returns {"levels": [reducers per level], "totals": {key: sum}}
    with the totals' keys sorted. No partials give {"levels": [], "totals": {}}; a single
    partial needs no reducer. A fan_in below 2 raises ValueError: it would never converge.
    """
    # TODO: merge level by level, counting the reducers at each level.
    raise NotImplementedError
