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
    # TODO: validate the inputs (the helpers above raise ValueError for you) and the model.
    # TODO: 0 items take 0.0 s in every model.
    # TODO: asyncio and threads: waits overlap in_flight at a time, Python CPU uses one core.
    # TODO: processes and asyncio+processes: start-up per worker, pickling per item, CPU over
    #       min(processes, cores) cores; for "processes", in_flight is the number of workers.
    raise NotImplementedError


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
    # TODO: build the candidates in this order: asyncio, threads, processes, asyncio+processes
    #       (the two asyncio plans only when workload.get("async_client", True) is true).
    # TODO: predict each one and keep the fastest; an earlier candidate wins a tie.
    raise NotImplementedError
