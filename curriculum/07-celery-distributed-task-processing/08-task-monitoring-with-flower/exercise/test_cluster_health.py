"""Tests for cluster_health: Flower's /metrics and /api/queues/length turned into alerts."""

from cluster_health import evaluate, parse_metrics, task_stats

# Trimmed from a real Flower 2.2 scrape: two workers, one client that sent the tasks.
METRICS = """\
# HELP flower_events_total Number of events
# TYPE flower_events_total counter
flower_events_total{task="billing.capture_payment",type="task-sent",worker="gen4127@web-1"} 30.0
flower_events_total{task="billing.capture_payment",type="task-received",worker="pay@w1"} 18.0
flower_events_total{task="billing.capture_payment",type="task-succeeded",worker="pay@w1"} 17.0
flower_events_total{task="billing.capture_payment",type="task-failed",worker="pay@w1"} 1.0
flower_events_total{task="billing.capture_payment",type="task-received",worker="pay@w2"} 12.0
flower_events_total{task="billing.capture_payment",type="task-succeeded",worker="pay@w2"} 9.0
flower_events_total{task="billing.capture_payment",type="task-failed",worker="pay@w2"} 3.0
flower_events_total{task="billing.sync_invoice",type="task-retried",worker="pay@w1"} 2.0
flower_events_total{task="billing.sync_invoice",type="task-succeeded",worker="pay@w1"} 5.0
# HELP flower_events_created Number of events
# TYPE flower_events_created gauge
flower_events_created{task="billing.capture_payment",type="task-failed",worker="pay@w1"} 1.7e9
# HELP flower_task_runtime_seconds Task runtime
# TYPE flower_task_runtime_seconds histogram
flower_task_runtime_seconds_bucket{le="0.5",task="billing.capture_payment",worker="pay@w1"} 16.0
flower_task_runtime_seconds_bucket{le="+Inf",task="billing.capture_payment",worker="pay@w1"} 17.0
flower_task_runtime_seconds_count{task="billing.capture_payment",worker="pay@w1"} 17.0
# HELP flower_worker_online Worker online status
# TYPE flower_worker_online gauge
flower_worker_online{worker="pay@w1"} 1.0
flower_worker_online{worker="pay@w2"} 1.0
"""

QUIET_QUEUES = {"active_queues": [{"name": "billing", "messages": 3}]}
LOOSE = {"min_runs": 1000}  # thresholds that keep the failure-ratio rule out of a test


def test_it_parses_names_labels_and_values_and_skips_comments() -> None:
    samples = parse_metrics(METRICS)
    assert len(samples) == 15, "15 sample lines; the HELP and TYPE comment lines are not samples"
    assert samples[0] == {
        "name": "flower_events_total",
        "labels": {
            "task": "billing.capture_payment",
            "type": "task-sent",
            "worker": "gen4127@web-1",
        },
        "value": 30.0,
    }, "each sample is its metric name, a dict of its labels and its value as a float"
    assert samples[-1]["labels"] == {"worker": "pay@w2"}


def test_it_reads_values_in_any_float_notation_and_ignores_timestamps() -> None:
    samples = parse_metrics('up 1\nflower_events_created{worker="w"} 1.7e9 1712345678000\n')
    assert samples == [
        {"name": "up", "labels": {}, "value": 1.0},
        {"name": "flower_events_created", "labels": {"worker": "w"}, "value": 1.7e9},
    ], "a sample may have no labels at all, and a timestamp after the value is not the value"


def test_label_values_keep_commas_braces_and_escaped_characters() -> None:
    text = 'flower_events_total{task="reports.render",worker="a,b}c",note="say \\"hi\\"\\\\n"} 2\n'
    (sample,) = parse_metrics(text)
    assert sample["labels"] == {
        "task": "reports.render",
        "worker": "a,b}c",
        "note": 'say "hi"\\n',
    }, (
        "split labels on the quoted values, not on commas or braces, and undo the escapes: "
        '\\" is a quote and \\\\ one backslash'
    )


def test_task_stats_sums_every_worker_and_strips_the_task_prefix() -> None:
    stats = task_stats(parse_metrics(METRICS))
    assert stats["billing.capture_payment"] == {
        "sent": 30,
        "received": 30,
        "succeeded": 26,
        "failed": 4,
    }, "w1 and w2 together; task-sent is counted under the client that sent the tasks"
    assert stats["billing.sync_invoice"] == {"retried": 2, "succeeded": 5}


def test_task_stats_uses_only_the_event_counter() -> None:
    stats = task_stats(parse_metrics(METRICS))
    assert set(stats) == {"billing.capture_payment", "billing.sync_invoice"}
    assert all(isinstance(n, int) for counts in stats.values() for n in counts.values()), (
        "counts are ints"
    )
    assert stats["billing.capture_payment"]["failed"] == 4, (
        "flower_events_created holds a creation timestamp, not a count: leave it out"
    )


def test_a_healthy_cluster_raises_no_alert() -> None:
    assert evaluate(parse_metrics(METRICS), QUIET_QUEUES, LOOSE) == []


def test_a_worker_reported_offline_is_missing() -> None:
    w2_online = 'flower_worker_online{worker="pay@w2"}'
    text = METRICS.replace(f"{w2_online} 1.0", f"{w2_online} 0.0")
    assert evaluate(parse_metrics(text), QUIET_QUEUES, LOOSE) == [
        "workers-missing: 1 of 2 online"
    ], "Flower sets flower_worker_online to 0 when the worker sends worker-offline"


def test_a_purged_worker_with_no_series_is_missing_too() -> None:
    samples = [s for s in parse_metrics(METRICS) if s["labels"].get("worker") != "pay@w2"]
    assert evaluate(samples, QUIET_QUEUES, LOOSE) == ["workers-missing: 1 of 2 online"], (
        "with --purge_offline_workers a crashed worker's series vanish instead of turning 0: "
        "count the workers that are online, do not look for zeros"
    )
    assert evaluate([], QUIET_QUEUES, LOOSE) == ["workers-missing: 0 of 2 online"]


def test_the_failure_ratio_fires_above_the_threshold_with_enough_runs() -> None:
    samples = parse_metrics(METRICS)
    assert evaluate(samples, QUIET_QUEUES, {"max_failure_ratio": 0.1}) == [
        "failure-ratio: billing.capture_payment 4/30"
    ], "4 failed of 30 finished runs is 13%, above 10%; sync_invoice has no failures"
    assert evaluate(samples, QUIET_QUEUES, {"max_failure_ratio": 0.2}) == []


def test_the_failure_ratio_needs_min_runs_and_is_strictly_above() -> None:
    samples = parse_metrics(METRICS)
    assert evaluate(samples, QUIET_QUEUES, {"max_failure_ratio": 0.1, "min_runs": 31}) == [], (
        "30 finished runs are fewer than min_runs=31: too few to judge"
    )
    assert evaluate(samples, QUIET_QUEUES, {"max_failure_ratio": 4 / 30, "min_runs": 30}) == [], (
        "a ratio equal to the threshold does not fire; min_runs itself is enough runs"
    )


def test_queue_backlog_reads_flowers_queue_lengths() -> None:
    queues = {
        "active_queues": [
            {"name": "billing", "messages": 1000},
            {"name": "exports", "messages": 1001},
        ]
    }
    assert evaluate(parse_metrics(METRICS), queues, LOOSE) == ["queue-backlog: exports 1001"], (
        "more than max_queue_length (1000 by default) fires; exactly 1000 does not"
    )
    assert evaluate(parse_metrics(METRICS), {"active_queues": []}, LOOSE) == []


def test_several_alerts_come_back_sorted() -> None:
    samples = [s for s in parse_metrics(METRICS) if s["name"] != "flower_worker_online"]
    queues = {"active_queues": [{"name": "exports", "messages": 5000}]}
    assert evaluate(samples, queues, {"max_failure_ratio": 0.1}) == [
        "failure-ratio: billing.capture_payment 4/30",
        "queue-backlog: exports 5000",
        "workers-missing: 0 of 2 online",
    ], "one string per alert, sorted, so the bot's message is stable from one poll to the next"
