"""Turn what Flower reports into task statistics and alerts.

The on-call bot of the billing platform polls two Flower endpoints every minute: the Prometheus
text of GET /metrics and the JSON of GET /api/queues/length. This module is its pure core: it
parses the metrics, sums the task events per task type, and decides which alerts fire. It
takes and returns plain values, so it is tested without Flower, a broker or a network.
"""

from __future__ import annotations

import re  # noqa: F401  (you will want it)
from typing import Any

# The thresholds the bot runs with unless told otherwise.
DEFAULT_THRESHOLDS: dict[str, Any] = {
    "min_workers": 2,  # fewer workers online than this pages someone
    "max_failure_ratio": 0.05,  # failed / (succeeded + failed), per task type
    "min_runs": 20,  # below this many finished runs the ratio says nothing yet
    "max_queue_length": 1000,  # messages waiting in one queue
}


def parse_metrics(text: str) -> list[dict[str, Any]]:
    """Parse the Prometheus text format into samples.

    Each sample is {"name": str, "labels": {str: str}, "value": float}, in the order of the
    text. Blank lines and lines starting with "#" (HELP, TYPE) are skipped. Label values are
    double-quoted and may contain commas, "}" and the escapes \\\\, \\" and \\n. After the
    value a sample line may carry a timestamp, which is ignored.
    """
    # TODO: for each sample line, match the name, the optional {labels} and the value;
    # pull each key="value" pair out of the labels and undo the escapes.
    raise NotImplementedError


def task_stats(samples: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Count task events per task type, summed over every worker (and the clients).

    Uses the flower_events_total samples only. The result maps each task name to the counts
    of its event types with the "task-" prefix removed, e.g.
    {"billing.capture_payment": {"sent": 6, "received": 6, "succeeded": 4, "failed": 2}}.
    Counts are ints; event types never seen for a task are absent.
    """
    # TODO: add up the flower_events_total samples by their "task" and "type" labels.
    raise NotImplementedError


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
    # TODO: merge the thresholds, apply the three rules, return the alerts sorted.
    raise NotImplementedError
