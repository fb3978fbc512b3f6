from typing import Any

import pytest
from concurrency_planner import choose_plan, predict_seconds

IO_BOUND = {"items": 40, "cpu_ms": 0, "wait_ms": 25}
CPU_BOUND = {"items": 8, "cpu_ms": 15, "wait_ms": 0}


def plan(model: str, in_flight: int = 0, processes: int = 0) -> dict[str, Any]:
    return {"model": model, "in_flight": in_flight, "processes": processes}


def test_threads_overlap_waits_up_to_their_count() -> None:
    seconds = predict_seconds(IO_BOUND, plan("threads", in_flight=20))
    assert seconds == pytest.approx(0.05), (
        "40 waits of 25 ms, 20 at a time, are two rounds of 25 ms: 0.05 s"
    )


def test_threads_cannot_run_python_cpu_on_two_cores() -> None:
    one = predict_seconds(CPU_BOUND, plan("threads", in_flight=1))
    two = predict_seconds(CPU_BOUND, plan("threads", in_flight=2))
    assert one == pytest.approx(0.12), "8 items x 15 ms of CPU on one thread is 0.12 s"
    assert two == pytest.approx(0.12), (
        "with the GIL, Python CPU work runs on one core however many threads share it"
    )


def test_asyncio_stops_scaling_once_the_loop_is_busy_computing() -> None:
    workload = {"items": 100, "cpu_ms": 2, "wait_ms": 48}
    narrow = predict_seconds(workload, plan("asyncio", in_flight=10))
    wide = predict_seconds(workload, plan("asyncio", in_flight=100))
    assert narrow == pytest.approx(0.5), "10 in flight: 100 x 50 ms / 10 = 0.5 s"
    assert wide == pytest.approx(0.2), (
        "100 in flight would be 50 ms of waiting, but the loop still has 100 x 2 ms of CPU"
        " to do on its one thread: 0.2 s"
    )


def test_processes_pay_start_up_and_scale_only_to_the_cores() -> None:
    two = predict_seconds(CPU_BOUND, plan("processes", processes=2))
    four = predict_seconds(CPU_BOUND, plan("processes", processes=4))
    assert two == pytest.approx(0.09), "2 x 15 ms start-up + 120 ms of CPU over 2 cores = 0.09 s"
    assert four == pytest.approx(0.12), (
        "4 workers on 2 cores still compute at 2 cores' speed, and start-up doubles to 60 ms"
    )


def test_payload_shipping_is_charged_to_process_workers_only() -> None:
    workload = {"items": 10, "cpu_ms": 4, "wait_ms": 0, "payload_kb": 60}
    processes = predict_seconds(workload, plan("processes", processes=2))
    threads = predict_seconds(workload, plan("threads", in_flight=2))
    assert processes == pytest.approx(0.08), (
        "60 KiB x 0.1 ms/KiB = 6 ms of pickling per item: 30 ms start-up + 10 x 10 ms / 2"
    )
    assert threads == pytest.approx(0.04), "threads share memory: no pickling, 10 x 4 ms"


def test_a_process_pool_sized_to_the_cores_throttles_io() -> None:
    seconds = predict_seconds(IO_BOUND, plan("processes", processes=2))
    assert seconds == pytest.approx(0.53), (
        "2 worker processes keep only 2 requests in flight: 30 ms + 40 x 25 ms / 2 = 0.53 s"
    )


def test_asyncio_with_a_process_pool_overlaps_waits_and_splits_the_cpu() -> None:
    workload = {"items": 1000, "cpu_ms": 5, "wait_ms": 50}
    seconds = predict_seconds(workload, plan("asyncio+processes", in_flight=1000, processes=2))
    assert seconds == pytest.approx(2.53), (
        "waits overlap 1000 at a time (55 ms); the 5 s of CPU splits over 2 cores (2.5 s);"
        " plus 30 ms start-up"
    )


def test_an_empty_batch_takes_no_time_in_any_model() -> None:
    empty = {"items": 0, "cpu_ms": 10, "wait_ms": 10}
    for candidate in (
        plan("asyncio", in_flight=5),
        plan("threads", in_flight=5),
        plan("processes", processes=2),
        plan("asyncio+processes", in_flight=5, processes=2),
    ):
        assert predict_seconds(empty, candidate) == 0.0, f"{candidate['model']}: 0 items is 0 s"


@pytest.mark.parametrize(
    ("workload", "bad_plan"),
    [
        (IO_BOUND, plan("fibers", in_flight=4)),
        (IO_BOUND, plan("threads", in_flight=0)),
        (IO_BOUND, plan("processes", processes=0)),
        ({"items": 4, "cpu_ms": -1, "wait_ms": 0}, plan("threads", in_flight=1)),
    ],
    ids=["unknown-model", "zero-threads", "zero-processes", "negative-cpu"],
)
def test_impossible_inputs_raise_value_error(
    workload: dict[str, Any], bad_plan: dict[str, Any]
) -> None:
    with pytest.raises(ValueError):
        predict_seconds(workload, bad_plan)


def test_io_bound_work_with_an_async_client_goes_to_asyncio() -> None:
    choice = choose_plan({"items": 5000, "cpu_ms": 0, "wait_ms": 40, "async_client": True})
    assert choice["model"] == "asyncio", f"5,000 pure waits fit asyncio best, got {choice}"
    assert choice["in_flight"] == 1000, "asyncio may use the machine's max_in_flight (1000)"
    assert choice["seconds"] == pytest.approx(0.2), "5 rounds of 1000 x 40 ms = 0.2 s"


def test_io_bound_work_with_only_a_blocking_client_goes_to_threads() -> None:
    choice = choose_plan({"items": 5000, "cpu_ms": 0, "wait_ms": 40, "async_client": False})
    assert choice["model"] == "threads", f"without an async client asyncio is out, got {choice}"
    assert choice["in_flight"] == 200, "threads are capped by the machine's max_threads (200)"
    assert choice["seconds"] == pytest.approx(1.0), "25 rounds of 200 x 40 ms = 1.0 s"


def test_a_large_cpu_batch_goes_to_one_process_per_core() -> None:
    choice = choose_plan({"items": 200, "cpu_ms": 20, "wait_ms": 0})
    assert choice["model"] == "processes", f"4 s of Python CPU needs both cores, got {choice}"
    assert choice["processes"] == 2, "one worker process per core"
    assert choice["seconds"] == pytest.approx(2.03), "30 ms start-up + 4 s / 2 cores"


def test_small_or_data_heavy_cpu_work_stays_in_process() -> None:
    tiny = choose_plan({"items": 2, "cpu_ms": 5, "wait_ms": 0, "async_client": False})
    assert tiny["model"] == "threads", (
        f"10 ms of work is cheaper than 30 ms of process start-up, got {tiny}"
    )
    heavy = choose_plan({"items": 1000, "cpu_ms": 1, "wait_ms": 0, "payload_kb": 50})
    assert heavy["model"] == "asyncio", (
        f"5 ms of pickling per item costs more than the 1 ms of work it would spread, got {heavy}"
    )
    assert heavy["seconds"] == pytest.approx(1.0)


def test_mixed_work_combines_asyncio_with_a_process_pool() -> None:
    choice = choose_plan({"items": 1000, "cpu_ms": 5, "wait_ms": 50})
    assert choice["model"] == "asyncio+processes", (
        f"50 ms waits want asyncio, 5 s of CPU wants two cores: both at once, got {choice}"
    )
    assert (choice["in_flight"], choice["processes"]) == (1000, 2)
    assert choice["seconds"] == pytest.approx(2.53)


def test_the_machine_can_be_overridden_and_ties_go_to_the_simpler_plan() -> None:
    choice = choose_plan({"items": 200, "cpu_ms": 20, "wait_ms": 0}, {"cores": 8})
    assert choice["model"] == "processes", (
        f"processes and asyncio+processes tie at 0.62 s; the simpler one wins, got {choice}"
    )
    assert choice["processes"] == 8, "with 8 cores, one worker per core"
    assert choice["seconds"] == pytest.approx(0.62), "8 x 15 ms start-up + 4 s / 8 cores"
