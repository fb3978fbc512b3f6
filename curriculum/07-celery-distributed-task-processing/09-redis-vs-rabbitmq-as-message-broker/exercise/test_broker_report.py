"""Behavioural tests for broker_report."""

import pytest

from broker_report import compare, percentile, summarise, visibility_timeout_for

WAITS = [float(ms) for ms in range(1, 101)]  # 1.0 .. 100.0 ms


def test_percentile_uses_nearest_rank_not_interpolation() -> None:
    assert percentile(WAITS, 50) == 50.0, "p50 of 1..100 is the 50th sample, 50.0"
    assert percentile(WAITS, 95) == 95.0, "p95 of 1..100 is the 95th sample, 95.0"
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.0, (
        "nearest rank of 50% of 4 samples is rank 2 of the sorted list, not the mean 2.5"
    )


def test_percentile_sorts_and_rounds_rank_up() -> None:
    assert percentile([30.0, 10.0, 20.0], 95) == 30.0, "ceil(0.95 * 3) = rank 3, the largest"
    assert percentile([30.0, 10.0, 20.0], 1) == 10.0, "a tiny pct still selects rank 1"
    assert percentile([7.5], 100) == 7.5, "p100 of one sample is that sample"
    assert percentile(WAITS, 7) == 7.0, (
        "p7 of 1..100 is rank 7; compute ceil(pct * n / 100), because ceil(7 / 100 * 100) "
        "is ceil(7.000000000000001) = 8 in floating point"
    )


def test_percentile_refuses_empty_samples_and_bad_pct() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile(WAITS, 0)
    with pytest.raises(ValueError):
        percentile(WAITS, 101)


def test_summarise_reports_throughput_and_percentiles() -> None:
    report = summarise("redis", WAITS, 0.8)
    assert report == {
        "broker": "redis",
        "tasks": 100,
        "throughput_per_s": 125.0,
        "p50_ms": 50.0,
        "p95_ms": 95.0,
    }, "100 tasks in 0.8 s is 125.0 tasks/s; p50/p95 come from percentile()"


def test_summarise_rounds_figures() -> None:
    report = summarise("rabbitmq", [1.234, 2.345, 3.456], 0.7)
    assert report["throughput_per_s"] == 4.3, "3 / 0.7 = 4.2857..., one decimal"
    assert report["p50_ms"] == 2.35, "milliseconds keep two decimals"


def test_summarise_refuses_empty_runs_and_non_positive_time() -> None:
    with pytest.raises(ValueError):
        summarise("redis", [], 1.0)
    with pytest.raises(ValueError):
        summarise("redis", WAITS, 0.0)


def test_compare_names_the_faster_broker_and_the_ratio() -> None:
    redis_run = summarise("redis", [30.0] * 500, 4.0)  # 125 tasks/s
    rabbit_run = summarise("rabbitmq", [12.0] * 500, 2.0)  # 250 tasks/s
    result = compare(redis_run, rabbit_run)
    assert result == {"faster": "rabbitmq", "throughput_ratio": 2.0, "lower_p95": "rabbitmq"}


def test_compare_can_split_throughput_and_tail_latency() -> None:
    steady = {"broker": "rabbitmq", "tasks": 500, "throughput_per_s": 300.0, "p95_ms": 90.0}
    bursty = {"broker": "redis", "tasks": 500, "throughput_per_s": 400.0, "p95_ms": 150.0}
    result = compare(steady, bursty)
    assert result["faster"] == "redis" and result["lower_p95"] == "rabbitmq", (
        "higher throughput and lower p95 are separate questions and can name different brokers"
    )
    assert result["throughput_ratio"] == 1.33


def test_compare_gives_ties_to_the_first_run_and_refuses_mismatched_runs() -> None:
    first = {"broker": "redis", "tasks": 500, "throughput_per_s": 200.0, "p95_ms": 50.0}
    second = {"broker": "rabbitmq", "tasks": 500, "throughput_per_s": 200.0, "p95_ms": 50.0}
    assert compare(first, second) == {"faster": "redis", "throughput_ratio": 1.0, "lower_p95": "redis"}
    with pytest.raises(ValueError):
        compare(first, {**second, "tasks": 499})


def test_visibility_timeout_outlasts_the_longest_countdown_with_margin() -> None:
    assert visibility_timeout_for(600, 7200) == 14400, (
        "a 2-hour countdown with safety 2 needs 4 hours, or the task is redelivered and runs twice"
    )
    assert visibility_timeout_for(5000.2, 0, safety=1.5) == 7501, "round up to whole seconds"


def test_visibility_timeout_never_drops_below_the_default() -> None:
    assert visibility_timeout_for(30, 60) == 3600, "short tasks keep kombu's 3600 s default"


def test_visibility_timeout_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        visibility_timeout_for(-1, 0)
    with pytest.raises(ValueError):
        visibility_timeout_for(10, 10, safety=0.5)
