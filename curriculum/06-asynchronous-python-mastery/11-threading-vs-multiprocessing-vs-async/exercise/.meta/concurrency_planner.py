"""A capacity model that predicts how long a batch takes under each concurrency model.

Everything is plain data (dicts of numbers, strings and booleans), so a planning script, a
notebook or a CI check can call it. Times inside the model are milliseconds; the functions
return seconds.
"""

from typing import Any

# The machine this course runs on. Callers may override any key.
MACHINE: dict[str, Any] = {
    "cores": 2,  # CPU cores the batch can use
    "process_start_ms": 15.0,  # one worker process with fork (process_costs.py: 4-40 ms)
    "ipc_ms_per_kb": 0.1,  # shipping one KiB of plain data to a worker (process_costs.py)
    "max_threads": 200,  # the most threads the team allows in one process
    "max_in_flight": 1000,  # the most concurrent requests the downstream services accept
}

MODELS = ("asyncio", "threads", "processes", "asyncio+processes")


def _non_negative(data: dict[str, Any], key: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise ValueError(f"{key} is required")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{key} must be a number >= 0, got {value!r}")
    return float(value)


def _at_least_one(plan: dict[str, Any], key: str) -> int:
    value = plan.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be an integer >= 1, got {value!r}")
    return value


def predict_seconds(
    workload: dict[str, Any], plan: dict[str, Any], machine: dict[str, Any] | None = None
) -> float:
    """Predict the wall-clock seconds `plan` needs for `workload` on `machine`.

    workload: {"items": int, "cpu_ms": float, "wait_ms": float, "payload_kb": float (0)}
    plan:     {"model": one of MODELS, "in_flight": int, "processes": int}

    In milliseconds, with ipc = payload_kb * ipc_ms_per_kb:
    - asyncio, threads:  max(items * (cpu + wait) / in_flight, items * cpu)
    - processes, with n = processes (in_flight is ignored: it is n):
          n * process_start_ms + max(items * (cpu + wait + ipc) / n,
                                     items * (cpu + ipc) / min(n, cores))
    - asyncio+processes: the same, with in_flight instead of n in the first term's divisor.
    0 items take 0.0 s. ValueError for an unknown model, a negative or missing number, or an
    in_flight / processes the model uses that is not an integer >= 1.
    """
    spec = {**MACHINE, **(machine or {})}
    items = _non_negative(workload, "items")
    cpu = _non_negative(workload, "cpu_ms")
    wait = _non_negative(workload, "wait_ms")
    ipc = _non_negative(workload, "payload_kb", 0.0) * spec["ipc_ms_per_kb"]
    model = plan.get("model")
    if model not in MODELS:
        raise ValueError(f"model must be one of {', '.join(MODELS)}, got {model!r}")
    if items == 0:
        return 0.0

    if model in ("asyncio", "threads"):
        in_flight = _at_least_one(plan, "in_flight")
        # Waits overlap up to in_flight at a time; Python CPU runs on one core (the GIL).
        total_ms = max(items * (cpu + wait) / in_flight, items * cpu)
    else:
        processes = _at_least_one(plan, "processes")
        in_flight = processes if model == "processes" else _at_least_one(plan, "in_flight")
        item_ms = cpu + wait + ipc
        parallel = min(processes, spec["cores"])
        total_ms = processes * spec["process_start_ms"] + max(
            items * item_ms / in_flight, items * (cpu + ipc) / parallel
        )
    return total_ms / 1000


def choose_plan(workload: dict[str, Any], machine: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the fastest candidate plan as {"model", "in_flight", "processes", "seconds"}.

    Candidates, in this order; an earlier one wins a tie:
    1. asyncio: in_flight = min(items, max_in_flight), processes 0 (only with an async client)
    2. threads: in_flight = min(items, max_threads), processes 0
    3. processes: processes = in_flight = cores
    4. asyncio+processes: in_flight = min(items, max_in_flight), processes = cores (only with
       an async client)
    in_flight is never below 1. workload["async_client"] defaults to True.
    """
    spec = {**MACHINE, **(machine or {})}
    items = int(_non_negative(workload, "items"))
    async_client = workload.get("async_client", True)
    wide = max(1, min(items, spec["max_in_flight"]))
    cores = spec["cores"]

    candidates: list[dict[str, Any]] = []
    if async_client:
        candidates.append({"model": "asyncio", "in_flight": wide, "processes": 0})
    threads = max(1, min(items, spec["max_threads"]))
    candidates.append({"model": "threads", "in_flight": threads, "processes": 0})
    candidates.append({"model": "processes", "in_flight": cores, "processes": cores})
    if async_client:
        candidates.append({"model": "asyncio+processes", "in_flight": wide, "processes": cores})

    best: dict[str, Any] | None = None
    for plan in candidates:
        seconds = predict_seconds(workload, plan, spec)
        if best is None or seconds < best["seconds"]:  # strict: earlier candidates win ties
            best = {**plan, "seconds": seconds}
    assert best is not None
    return best
