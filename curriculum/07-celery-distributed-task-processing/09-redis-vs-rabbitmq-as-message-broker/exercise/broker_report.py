"""Turn broker benchmark samples into a report, and size Redis's visibility_timeout.

Every function takes and returns plain values (lists, numbers, dicts), so the report can be
written as JSON next to the benchmark's raw samples.
"""

from typing import Any

KOMBU_DEFAULT_VISIBILITY_TIMEOUT = 3600  # seconds, kombu.transport.redis.Channel


def percentile(samples_ms: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least pct% of samples <= it.

    Raises ValueError for no samples or a pct outside (0, 100].
    """
    # TODO: validate, sort, and pick the sample at rank ceil(pct * n / 100) (1-based)
    raise NotImplementedError


def summarise(broker: str, waits_ms: list[float], elapsed_s: float) -> dict[str, Any]:
    """Summarise one run: tasks, throughput (tasks/s, 1 decimal), p50/p95 wait (ms, 2 decimals).

    Returns {"broker", "tasks", "throughput_per_s", "p50_ms", "p95_ms"}. Raises ValueError
    when no waits were measured or elapsed_s is not positive.
    """
    # TODO
    raise NotImplementedError


def compare(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Which run had the higher throughput, by what ratio, and which had the lower p95.

    Returns {"faster", "throughput_ratio" (2 decimals), "lower_p95"}, naming brokers. Ties go
    to the first run. Both runs must have the same number of tasks (ValueError otherwise).
    """
    # TODO
    raise NotImplementedError


def visibility_timeout_for(
    longest_task_s: float, longest_countdown_s: float, safety: float = 2.0
) -> int:
    """Seconds for broker_transport_options["visibility_timeout"] on Redis.

    A message reserved longer than the timeout is handed to another worker, so the timeout
    must outlast the longest countdown/ETA and the longest acks_late task, times a safety
    factor (rounded up to whole seconds). Never return less than kombu's default. Raises
    ValueError for negative durations or a safety factor below 1.
    """
    # TODO
    raise NotImplementedError

