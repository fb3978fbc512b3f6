"""Turn what Flower reports into task statistics and alerts.

The on-call bot of the billing platform polls two Flower endpoints every minute: the Prometheus
text of GET /metrics and the JSON of GET /api/queues/length. This module is its pure core: it
parses the metrics, sums the task events per task type, and decides which alerts fire. It
takes and returns plain values, so it is tested without Flower, a broker or a network.
"""

from __future__ import annotations

import re
from typing import Any

# The thresholds the bot runs with unless told otherwise.
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "min_workers": 2,  # fewer workers online than this pages someone
    "max_failure_ratio": 0.05,  # failed / (succeeded + failed), per task type
    "min_runs": 20,  # below this many finished runs the ratio says nothing yet
    "max_queue_length": 1000,  # messages waiting in one queue
}

# name, optional {labels} (the last "}" on the line closes them), value, optional timestamp
_SAMPLE = re.compile(r"^(?P<name>[A-Za-z_:][\w:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[A-Za-z_]\w*)="(?P<value>(?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(.)")


def _unescape(value: str) -> str:
    return _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


def parse_metrics(text: str) -> list[dict[str, Any]]:
    """Parse the Prometheus text format into samples.

    Each sample is {"name": str, "labels": {str: str}, "value": float}, in the order of the
    text. Blank lines and lines starting with "#" (HELP, TYPE) are skipped. Label values are
    double-quoted and may contain commas, "}" and the escapes \\\\, \\" and \\n. After the
    value a sample line may carry a timestamp, which is ignored.
    """
    samples: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        if match is None:
            raise ValueError(f"not a sample line: {line!r}")
        labels = {
            label["key"]: _unescape(label["value"])
            for label in _LABEL.finditer(match["labels"] or "")
        }
        samples.append({"name": match["name"], "labels": labels, "value": float(match["value"])})
    return samples


def task_stats(samples: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Count task events per task type, summed over every worker (and the clients).

    Uses the flower_events_total samples only. The result maps each task name to the counts
    of its event types with the "task-" prefix removed, e.g.
    {"billing.capture_payment": {"sent": 6, "received": 6, "succeeded": 4, "failed": 2}}.
    Counts are ints; event types never seen for a task are absent.
    """
    stats: dict[str, dict[str, int]] = {}
    for sample in samples:
        if sample["name"] != "flower_events_total":
            continue
        kind = sample["labels"].get("type", "")
        task = sample["labels"].get("task", "")
        if not kind.startswith("task-") or not task:
            continue
        counts = stats.setdefault(task, {})
        event = kind.removeprefix("task-")
        counts[event] = counts.get(event, 0) + int(sample["value"])
    return stats


def evaluate(
    samples: list[dict[str, Any]],
    queues: dict[str, Any],
    thresholds: dict[str, Any] | None = None,
) -> list[str]:
    """The alerts that fire, as sorted strings.

    `queues` is the JSON of Flower's /api/queues/length: {"active_queues": [{"name": ...,
    "messages": ...}, ...]}. Missing thresholds take DEFAULT_THRESHOLDS. Three rules:
    - "workers-missing: <online> of <min_workers> online" when fewer workers than min_workers
      have flower_worker_online == 1 (a purged worker has no series at all: not online);
    - "failure-ratio: <task> <failed>/<finished>" for a task with at least min_runs finished
      runs (succeeded + failed) whose failed / finished is above max_failure_ratio;
    - "queue-backlog: <queue> <messages>" for a queue with more than max_queue_length messages.
    """
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    alerts: list[str] = []
    online = sum(1 for s in samples if s["name"] == "flower_worker_online" and s["value"] == 1)
    if online < limits["min_workers"]:
        alerts.append(f"workers-missing: {online} of {limits['min_workers']} online")
    for task, counts in task_stats(samples).items():
        failed = counts.get("failed", 0)
        finished = counts.get("succeeded", 0) + failed
        if finished >= limits["min_runs"] and failed / finished > limits["max_failure_ratio"]:
            alerts.append(f"failure-ratio: {task} {failed}/{finished}")
    for queue in queues.get("active_queues", []):
        if queue["messages"] > limits["max_queue_length"]:
            alerts.append(f"queue-backlog: {queue['name']} {queue['messages']}")
    return sorted(alerts)
