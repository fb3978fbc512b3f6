"""Turn broker benchmark samples into a report, and size Redis's visibility_timeout.

Reference solution.
"""

import math
from typing import Any

KOMBU_DEFAULT_VISIBILITY_TIMEOUT = 3600  # seconds, kombu.transport.redis.Channel


def percentile(samples_ms: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least pct% of samples <= it."""
    if not samples_ms:
        raise ValueError("percentile of no samples is undefined")
    if not 0 < pct <= 100:
        raise ValueError(f"pct must be in (0, 100], got {pct}")
    ordered = sorted(samples_ms)
    # pct * n / 100, not pct / 100 * n: 7 / 100 * 100 is 7.000000000000001 in floating point
    rank = math.ceil(pct * len(ordered) / 100)
    return ordered[rank - 1]


def summarise(broker: str, waits_ms: list[float], elapsed_s: float) -> dict[str, Any]:
    """Summarise one run: tasks, throughput (tasks/s, 1 decimal), p50/p95 wait (ms, 2 decimals)."""
    if not waits_ms:
        raise ValueError(f"{broker}: no tasks were measured")
    if elapsed_s <= 0:
        raise ValueError(f"{broker}: elapsed_s must be positive, got {elapsed_s}")
    return {
        "broker": broker,
        "tasks": len(waits_ms),
        "throughput_per_s": round(len(waits_ms) / elapsed_s, 1),
        "p50_ms": round(percentile(waits_ms, 50), 2),
        "p95_ms": round(percentile(waits_ms, 95), 2),
    }


def compare(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Which run had the higher throughput, by what ratio, and which had the lower p95.

    Ties go to the first run. Both runs must have the same number of tasks.
    """
    if first["tasks"] != second["tasks"]:
        raise ValueError("runs with different task counts are not comparable")
    faster, slower = sorted((first, second), key=lambda run: -run["throughput_per_s"])
    return {
        "faster": faster["broker"],
        "throughput_ratio": round(faster["throughput_per_s"] / slower["throughput_per_s"], 2),
        "lower_p95": min((first, second), key=lambda run: run["p95_ms"])["broker"],
    }


def visibility_timeout_for(
    longest_task_s: float, longest_countdown_s: float, safety: float = 2.0
) -> int:
    """Seconds for broker_transport_options["visibility_timeout"] on Redis.

    A message reserved longer than the timeout is handed to another worker, so the timeout
    must outlast the longest countdown/ETA and the longest acks_late task, times a safety
    factor. Never return less than kombu's default.
    """
    if longest_task_s < 0 or longest_countdown_s < 0:
        raise ValueError("durations cannot be negative")
    if safety < 1:
        raise ValueError(f"safety must be at least 1, got {safety}")
    needed = math.ceil(max(longest_task_s, longest_countdown_s) * safety)
    return max(KOMBU_DEFAULT_VISIBILITY_TIMEOUT, needed)
