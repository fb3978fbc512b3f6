"""The supervisor's pieces on their own: results reading, slots, arguments, limits' wording."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pymastery.core.grading import RESULTS_CAP, read_results
from pymastery.core.sandbox import cgroup, policy, supervisor

PASSING = b'{"version": 3, "status": "pass", "message": null, "tests": []}'


def test_results_are_read_from_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_bytes(PASSING)
    assert read_results(tmp_path) == PASSING


def test_a_results_symlink_is_never_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_bytes(PASSING)
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").symlink_to(secret)
    assert read_results(out) is None


def test_a_symlinked_out_folder_is_never_followed(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "results.json").write_bytes(PASSING)
    (tmp_path / "out").symlink_to(real)
    assert read_results(tmp_path / "out") is None


def test_a_results_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "results.json")
    assert read_results(tmp_path) is None  # returns at once: opened O_NONBLOCK, not regular


def test_an_oversized_results_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_bytes(b" " * (RESULTS_CAP + 1))
    assert read_results(tmp_path) is None


def test_each_limit_is_described_in_plain_words() -> None:
    limits = supervisor.Limits(wall_seconds=7, cpu_seconds=5, processes=10)
    assert "ran for more than 7 seconds" in limits.describe(supervisor.Breach.WALL)
    assert "more than 5 seconds of CPU time" in limits.describe(supervisor.Breach.CPU)
    assert "more than 1024 MiB of memory" in limits.describe(supervisor.Breach.MEMORY)
    assert "more than 10 processes or threads" in limits.describe(supervisor.Breach.PROCESSES)
    assert "printed more than 1024 KiB" in limits.describe(supervisor.Breach.OUTPUT)


def test_the_most_specific_breach_ranks_first() -> None:
    found = [supervisor.Breach.WALL, supervisor.Breach.MEMORY, supervisor.Breach.CPU]
    assert min(found, key=lambda breach: breach.rank) is supervisor.Breach.MEMORY


def test_bwrap_sees_only_what_is_declared_and_no_environment() -> None:
    box = supervisor.Box(
        name="learner",
        uid=61000,
        command=["python"],
        binds=[supervisor.Bind(Path("/srv/job/learner"), "/sandbox/learner", writable=True)],
        cwd="/sandbox/learner",
        env={"HOME": "/tmp"},
    )
    args = supervisor.bwrap_arguments(box, supervisor.Limits(), seccomp_fd=9)
    for flag in ("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent"):
        assert flag in args
    assert "--new-session" in args and "--clearenv" in args
    assert args[args.index("--seccomp") + 1] == "9"
    writable = [args[i + 1] for i, arg in enumerate(args) if arg == "--bind"]
    assert writable == ["/srv/job/learner"]
    read_only = {args[i + 1] for i, arg in enumerate(args) if arg == "--ro-bind"}
    assert read_only <= {"/usr", *map(str, supervisor.python_roots())}
    assert [args[i + 1] for i, arg in enumerate(args) if arg == "--setenv"] == ["HOME"]


def test_privileges_are_dropped_inside_with_every_limit_set() -> None:
    box = supervisor.Box("learner", 61002, ["python"], [], "/")
    inner = supervisor.inner_command(box, supervisor.Limits(cpu_seconds=4))
    assert inner[0] == "/usr/bin/prlimit" and "--cpu=4:5" in inner and "--core=0" in inner
    setpriv = inner[inner.index("/usr/bin/setpriv") :]
    for option in ("--reuid=61002", "--regid=61002", "--clear-groups", "--no-new-privs"):
        assert option in setpriv
    assert "--inh-caps=-all" in setpriv and "--bounding-set=-all" in setpriv


def test_the_seccomp_filter_is_compiled_once_and_cached_by_its_source(tmp_path: Path) -> None:
    if not Path(policy.DEBIAN_PYTHON).exists():
        pytest.skip("no Debian interpreter")
    first = policy.compiled_filter(tmp_path)
    assert first.name == f"seccomp-{policy.source_hash()}.bpf" and first.stat().st_size > 0
    modified = first.stat().st_mtime_ns
    assert policy.compiled_filter(tmp_path).stat().st_mtime_ns == modified


def test_concurrent_jobs_get_different_slots() -> None:
    with supervisor.acquire_slot() as first, supervisor.acquire_slot() as second:
        assert first.index != second.index
        assert set(first.uids).isdisjoint(second.uids)


def test_a_cgroup_lives_under_the_graders_own_group_and_is_removed() -> None:
    group = cgroup.Cgroup("unit-test")
    try:
        if not group.available:
            pytest.skip("no writable cgroup hierarchy here")
        own = cgroup.own_hierarchies()
        for controller, path in group.paths.items():
            assert path.parent.parent == own[controller]
        group.limit(64 * 1024**2, 8, 0.5)
        assert group.pids() == set() and not group.memory_exhausted()
    finally:
        group.remove()
    assert group.paths == {}
