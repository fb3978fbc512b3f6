"""Behavioural tests for batch_plan: batch ranges, batch-size choice and a tree reduce."""

from collections import Counter

import pytest
from batch_plan import pick_batch_size, plan_batches, tree_reduce

# The lesson's measured setting: 10,000 invoices, 4 threads, 0.2 ms per invoice.
MEASURED = {"items": 10_000, "concurrency": 4, "per_item_ms": 0.2, "per_message_ms": 3.0}


def test_batches_are_in_order_and_only_the_last_one_is_short() -> None:
    batches = plan_batches(1, 10, 4)
    assert batches == [[1, 4], [5, 8], [9, 10]], (
        f"1..10 in batches of 4 is [1,4], [5,8], [9,10] (inclusive ranges), got {batches}"
    )


def test_a_range_is_cut_from_its_own_first_id() -> None:
    batches = plan_batches(1001, 1005, 2)
    assert batches == [[1001, 1002], [1003, 1004], [1005, 1005]], (
        f"batches start at first_id, not at 0 or 1; a one-id batch is [1005, 1005]; got {batches}"
    )


def test_every_id_is_covered_exactly_once_whatever_the_size() -> None:
    for size in (1, 3, 250, 2_000, 10_000, 50_000):
        batches = plan_batches(1, 10_000, size)
        covered = [i for first, last in batches for i in range(first, last + 1)]
        assert covered == list(range(1, 10_001)), (
            f"size {size}: the batches must cover 1..10000 once each, in order, with no gaps"
        )
        assert all(last - first + 1 <= size for first, last in batches), (
            f"size {size}: no batch may hold more than {size} ids"
        )


def test_an_empty_range_has_no_batches() -> None:
    assert plan_batches(5, 4, 10) == [], "last_id below first_id is an empty run: no batches"


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        plan_batches(1, 100, 0)


def test_it_picks_the_size_the_lesson_measured_as_fastest() -> None:
    size = pick_batch_size(**MEASURED, max_task_ms=60_000, candidates=[2500, 2000, 250, 50, 10])
    assert size == 2500, (
        "2500 gives 4 batches, one round on 4 threads (about 503 ms); 2000 needs a second round "
        f"for its fifth batch (806 ms) and 10 pays 1,000 message overheads (1,250 ms); got {size}"
    )


def test_batches_longer_than_the_task_budget_are_not_allowed() -> None:
    size = pick_batch_size(**MEASURED, max_task_ms=100, candidates=[2500, 2000, 250, 50, 10])
    assert size == 250, (
        "a batch of 2500 runs 503 ms and 2000 runs 403 ms, both over the 100 ms budget "
        f"(think soft time limit); of the rest, 250 is fastest (530 ms estimated); got {size}"
    )


def test_ties_go_to_the_larger_batch_which_sends_fewer_messages() -> None:
    # Work is free and every message costs 5 ms: with 8 threads each size finishes in one round.
    size = pick_batch_size(8, 8, 0.0, 5.0, 1_000, candidates=[1, 4, 2])
    assert size == 4, f"sizes 1, 2 and 4 all estimate 5 ms; the tie goes to 4, got {size}"


def test_it_refuses_when_no_candidate_fits_or_the_input_is_empty() -> None:
    with pytest.raises(ValueError):
        pick_batch_size(**MEASURED, max_task_ms=1, candidates=[2500, 250])
    with pytest.raises(ValueError):
        pick_batch_size(0, 4, 0.2, 3.0, 1_000, candidates=[100])


def test_a_tree_of_fan_in_four_over_24_partials_has_three_levels() -> None:
    partials = [{"tenant-a": n, "tenant-b": 2 * n} for n in range(1, 25)]
    result = tree_reduce(partials, 4)
    assert result["levels"] == [6, 2, 1], (
        f"24 inputs -> 6 reducers -> 2 -> 1 with at most 4 inputs each; got {result['levels']}"
    )
    assert result["totals"] == {"tenant-a": 300, "tenant-b": 600}, (
        f"a tree must give the same totals as one flat sum; got {result['totals']}"
    )


def test_an_uneven_last_group_still_gets_its_own_reducer() -> None:
    partials = [{"acme": 1}, {"acme": 2}, {"globex": 3}, {"acme": 4}, {"globex": 5}]
    result = tree_reduce(partials, 2)
    assert result["levels"] == [3, 2, 1], (
        f"5 inputs in pairs -> 3 reducers (the last takes one input) -> 2 -> 1; got {result}"
    )
    assert result["totals"] == {"acme": 7, "globex": 8}, (
        f"some keys are not in every partial: {result}"
    )


def test_totals_have_sorted_keys_and_match_a_flat_merge() -> None:
    partials = [{"zeta": 1, "alpha": 2}, {"mid": 3}, {"alpha": 4, "zeta": 5}]
    result = tree_reduce(partials, 3)
    totals = result["totals"]
    assert isinstance(totals, dict)
    flat: Counter[str] = Counter()
    for partial in partials:
        flat.update(partial)
    assert totals == dict(flat), f"expected {dict(flat)}, got {totals}"
    assert list(totals) == ["alpha", "mid", "zeta"], f"sort the keys, got {list(totals)}"


def test_one_partial_needs_no_reducer_and_none_gives_nothing() -> None:
    assert tree_reduce([{"acme": 5}], 4) == {"levels": [], "totals": {"acme": 5}}, (
        "a single partial is already the answer: zero reducer levels"
    )
    assert tree_reduce([], 4) == {"levels": [], "totals": {}}, "no partials, no totals"


def test_a_fan_in_below_two_is_refused() -> None:
    with pytest.raises(ValueError):
        tree_reduce([{"acme": 1}, {"acme": 2}], 1)
