"""Hostile submissions (tests/sandbox/hostile/*.py, each naming its attack in its docstring),
graded exactly as cohort mode grades, each checked against the precise guarantee it attacks."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pymastery.core.model import Grading
from pymastery.core.sandbox import supervisor
from tests.sandbox.conftest import ALL_FAIL, hostile, observed, statuses

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def listeners() -> Iterator[list[socket.socket]]:
    """A TCP and a UDP listener on 127.0.0.1:47613, a Unix socket in /tmp, an abstract socket."""
    made: list[socket.socket] = []
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", 47613))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 47613))
    path = Path("/tmp/pymastery-hostile.sock")
    path.unlink(missing_ok=True)
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind(str(path))
    unix.listen()
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0pymastery-hostile")
    abstract.listen()
    made += [tcp, udp, unix, abstract]
    for sock in made:
        sock.setblocking(False)
    yield made
    for sock in made:
        sock.close()
    path.unlink(missing_ok=True)


def nothing_arrived(sockets: list[socket.socket]) -> bool:
    for sock in sockets:
        try:
            if sock.type == socket.SOCK_DGRAM:
                sock.recv(1)
            else:
                sock.accept()
        except BlockingIOError:
            continue
        return False
    return True


# No network at all ----------------------------------------------------------------------------


def test_tcp_to_the_loopback_services_is_refused_and_never_arrives(
    listeners: list[socket.socket],
) -> None:
    result = hostile("net_tcp_loopback")
    assert observed(result) == dict.fromkeys(("5432", "6379", "8000", "47613"), "PermissionError")
    assert nothing_arrived(listeners)
    assert statuses(result) == ALL_FAIL


def test_tcp_to_the_ipv6_loopback_is_refused(listeners: list[socket.socket]) -> None:
    result = hostile("net_tcp_ipv6")
    assert observed(result) == dict.fromkeys(("5432", "6379", "47613"), "PermissionError")
    assert nothing_arrived(listeners)


def test_udp_datagrams_never_leave(listeners: list[socket.socket]) -> None:
    result = hostile("net_udp")
    assert observed(result) == {"53": "PermissionError", "47613": "PermissionError"}
    assert nothing_arrived(listeners)


def test_path_unix_sockets_of_the_services_are_not_there(listeners: list[socket.socket]) -> None:
    result = hostile("net_unix_sockets")
    assert set(observed(result).values()) == {"FileNotFoundError"}
    assert nothing_arrived(listeners)


def test_an_abstract_socket_of_the_host_is_out_of_reach(listeners: list[socket.socket]) -> None:
    result = hostile("net_abstract_socket")
    assert observed(result) == "ConnectionRefusedError"
    assert nothing_arrived(listeners)


def test_every_socket_family_but_unix_is_refused() -> None:
    seen = observed(hostile("net_other_families"))
    assert seen == dict.fromkeys(("raw", "netlink", "packet", "vsock", "inet6"), "PermissionError")


def test_the_only_network_device_is_loopback() -> None:
    assert observed(hostile("net_interfaces")) == ["lo"]


# Its own copy of the exercise, nothing else -----------------------------------------------------


def test_the_checkout_and_its_reference_solutions_are_invisible() -> None:
    assert list(PROJECT.glob("curriculum/*/*/exercise/.meta/*.py")), "the attack has a target"
    seen = observed(hostile("fs_reference_solutions"))
    assert seen == {"found": [], "beside_venv": [".venv"]}


def test_other_learners_work_in_the_hosts_tmp_is_invisible(tmp_path: Path) -> None:
    other = Path(tempfile.mkdtemp(prefix="pymastery-grade-another-learner-", dir="/tmp"))
    (other / "invoice_total.py").write_text("SECRET = 'another learner'\n")
    try:
        seen = observed(hostile("fs_other_learners"))
    finally:
        shutil.rmtree(other)
    # Only the way down to the grader's own interpreter may show, when it lives under /tmp
    # (a checkout in /tmp/ci): the box binds it read-only at the same path.
    bound = {Path(p).parts[2] for p in (sys.prefix, sys.base_prefix) if p.startswith("/tmp/")}
    assert set(seen["/tmp"]) <= bound, seen["/tmp"]
    assert other.name not in seen["/tmp"]
    assert seen["/sandbox"] == ["learner", "lib"]  # no tests, no results, no other job
    assert all(seen[folder] == "FileNotFoundError" for folder in ("/var/tmp", "/run", "/home"))


def test_no_secret_of_the_grader_environment_reaches_any_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYMASTERY_HOSTILE_SECRET", "hunter2-in-the-environment")
    monkeypatch.setenv("DATABASE_URL", "postgres://cohort:hunter2@127.0.0.1/cohort")
    result = hostile("fs_environment")
    seen = observed(result)
    assert set(seen["own"]) <= {*supervisor_env(), "PWD"}
    assert seen["proc"]["1"] == "PermissionError"  # bwrap's own process belongs to root
    assert "hunter2" not in result.model_dump_json()


def supervisor_env() -> set[str]:
    from pymastery.core.grading import SANDBOX_ENV

    return set(SANDBOX_ENV)


def test_the_hosts_files_are_not_in_view() -> None:
    seen = observed(hostile("fs_host_files"))
    assert seen.pop("/proc/1/root/etc/shadow") == "PermissionError"
    assert set(seen.values()) == {"FileNotFoundError"}


def test_nothing_outside_tmp_and_its_own_folder_can_be_changed() -> None:
    channel = PROJECT / "src/pymastery/core/sandbox/channel.py"
    before = channel.read_bytes()
    seen = observed(hostile("fs_write_outside"))
    assert "written" not in seen.values()
    assert channel.read_bytes() == before


def test_only_the_standard_streams_and_the_channel_are_inherited() -> None:
    seen = observed(hostile("fs_inherited_descriptors"))
    standard = {name: seen.pop(name) for name in ("0", "1", "2")}
    assert standard == {"0": "/dev/null", "1": "pipe:", "2": "pipe:"}
    # the server's own /dev/null (it replaces stdin) and the channel's socket
    assert sorted(seen.values()) == ["/dev/null", "socket:"]


def test_sys_and_its_cgroup_files_are_not_mounted() -> None:
    assert observed(hostile("fs_cgroup_escape")) == {"sys": False}


def test_the_code_runs_unprivileged_with_seccomp_and_no_new_privileges() -> None:
    seen = observed(hostile("priv_escalate"))
    assert seen["setuid"] == "PermissionError"
    assert supervisor.SLOT_UID_BASE <= int(seen["Uid"]) < supervisor.SLOT_UID_BASE + 200
    assert seen["groups"] == []
    assert {seen[cap] for cap in ("CapEff", "CapPrm", "CapBnd", "CapAmb")} == {"0" * 16}
    assert (seen["NoNewPrivs"], seen["Seccomp"]) == ("1", "2")


def test_the_kernels_riskiest_interfaces_are_refused() -> None:
    seen = observed(hostile("kernel_syscalls"))
    assert set(seen.values()) == {"EPERM"}, seen


# The verdict cannot be forged -------------------------------------------------------------------


def test_os_exit_while_imported_is_an_error_that_says_so() -> None:
    result = hostile("forge_os_exit_at_import")
    assert result.status == "error" and result.tests == []
    assert result.message and "ended its own process while being imported" in result.message


def test_os_exit_inside_a_call_fails_that_call_and_every_later_one() -> None:
    result = hostile("forge_os_exit_in_call")
    assert statuses(result) == ALL_FAIL
    assert "process running your code ended" in (result.tests[0].message or "")


def test_sys_exit_while_imported_is_an_import_error() -> None:
    result = hostile("forge_sys_exit_at_import")
    assert result.status == "error"
    assert result.message and "raised SystemExit: 0" in result.message


def test_sys_exit_inside_a_call_only_fails_the_test() -> None:
    result = hostile("forge_sys_exit_in_call")
    assert statuses(result) == ALL_FAIL
    assert all("SystemExit: 0" in (test.message or "") for test in result.tests)


def test_an_object_equal_to_everything_cannot_cross() -> None:
    result = hostile("forge_always_equal")
    assert statuses(result) == ALL_FAIL
    assert all(
        "TypeError" in (t.message or "") and "cannot cross" in (t.message or "")
        for t in result.tests
    )


def test_subclasses_of_json_types_do_not_cross_as_themselves() -> None:
    result = hostile("forge_int_subclass")
    assert statuses(result) == ALL_FAIL


def test_patching_pytest_in_the_learners_process_changes_nothing() -> None:
    result = hostile("forge_patch_pytest")
    assert statuses(result) == ALL_FAIL


def test_the_callers_frames_hold_no_expected_value() -> None:
    result = hostile("forge_caller_frame")
    assert observed(result) == ["answer", "serve", "<module>"]  # the channel's server, no test
    assert statuses(result) == ALL_FAIL


def test_a_written_conftest_is_never_loaded() -> None:
    result = hostile("forge_conftest")
    assert observed(result) == ["/sandbox/learner", "/tmp"]  # written only in its own sandbox
    assert statuses(result) == ALL_FAIL


def test_a_forged_results_file_is_never_read() -> None:
    result = hostile("forge_results_file")
    assert observed(result) == ["/sandbox/learner/results.json", "/tmp/results.json"]
    assert statuses(result) == ALL_FAIL


def test_messages_the_tests_did_not_ask_for_break_the_channel() -> None:
    result = hostile("forge_channel_verdict")
    assert statuses(result) == ALL_FAIL
    assert all("wrong shape" in (test.message or "") for test in result.tests)


def test_exceptions_named_like_pytest_outcomes_fail_the_tests() -> None:
    result = hostile("forge_outcome_exceptions")
    assert statuses(result) == ALL_FAIL  # not skipped, not xfailed, the session not stopped
    messages = [test.message or "" for test in result.tests]
    assert messages[0].startswith("invoice_total.Skipped: skip me")
    assert "KeyboardInterrupt" in messages[2] and "SystemExit" in messages[3]


def test_an_oversized_answer_is_refused_in_plain_words() -> None:
    result = hostile("forge_huge_answer")
    assert result.status == "fail"
    assert "TypeError: the value is too large to cross" in (result.tests[0].message or "")


def test_json_nested_to_crash_the_parser_only_breaks_the_channel() -> None:
    result = hostile("forge_deep_json")
    assert statuses(result) == ALL_FAIL
    assert "not JSON" in (result.tests[0].message or "")


def test_rebinding_builtins_and_json_in_the_learners_process_forges_nothing() -> None:
    result = hostile("forge_builtins")
    assert result.status == "error"
    assert result.message and "wrong shape" in result.message


# Limits, each reported in plain words -----------------------------------------------------------


def test_a_spinning_loop_is_stopped_by_the_cpu_limit() -> None:
    result = hostile("limit_cpu_spin", limits=supervisor.Limits(wall_seconds=30, cpu_seconds=2))
    assert result.status == "error"
    assert result.message and "more than 2 seconds of CPU time" in result.message


def test_spinning_children_share_one_cpu_and_are_stopped() -> None:
    started = time.monotonic()
    result = hostile("limit_cpu_children", limits=supervisor.Limits(wall_seconds=30, cpu_seconds=2))
    assert result.status == "error"
    assert result.message and "more than 2 seconds of CPU time" in result.message
    assert time.monotonic() - started < 15


def test_sleeping_forever_is_stopped_by_the_wall_clock() -> None:
    result = hostile("limit_wall_sleep", time_limit=3)
    assert result.status == "error"
    assert result.message and "ran for more than 3 seconds" in result.message


def test_a_huge_allocation_is_a_memory_error_with_a_note() -> None:
    result = hostile("limit_memory_allocation")
    message = result.tests[0].message or ""
    assert "MemoryError" in message and "the grading sandbox caps memory" in message


def test_memory_spread_over_children_hits_the_cgroup_cap() -> None:
    result = hostile("limit_memory_children", time_limit=20)
    assert result.status == "error"
    assert result.message and "more than 1024 MiB of memory" in result.message


def test_a_fork_bomb_is_contained_and_reported() -> None:
    result = hostile("limit_fork_bomb", time_limit=6)
    assert result.status == "error"
    assert result.message and "more than 64 processes or threads" in result.message


def test_a_thousand_threads_hit_the_process_cap() -> None:
    result = hostile("limit_threads")
    assert result.status == "error"
    assert result.message and "more than 64 processes or threads" in result.message


def test_a_huge_file_is_cut_at_the_file_size_cap() -> None:
    result = hostile("limit_file_size")
    assert "the grading sandbox caps the size of a file" in (result.tests[0].message or "")


def test_filling_tmp_runs_out_of_space_with_a_note() -> None:
    result = hostile("limit_tmp_full")
    message = result.tests[0].message or ""
    assert "No space left" in message and "/tmp is small" in message


def test_flooding_stdout_is_stopped_at_the_output_cap() -> None:
    result = hostile("limit_output_flood")
    assert result.status == "error"
    assert result.message and "printed more than 1024 KiB of output" in result.message


def test_opening_endless_files_hits_the_descriptor_cap() -> None:
    result = hostile("limit_open_files")
    message = result.tests[0].message or ""
    assert "Too many open files" in message and "caps how many files" in message


# Nothing outlives the run; nothing leaks into a later one -----------------------------------------


def test_a_daemon_does_not_outlive_the_run() -> None:
    result = hostile("life_daemon")
    assert statuses(result) == ALL_FAIL
    # the autouse fixture checks that no process of any slot uid is left


def test_files_written_in_one_run_are_gone_in_the_next() -> None:
    assert set(observed(hostile("life_persist_writer"))) == {"/tmp", "/dev/shm", "/sandbox/learner"}
    assert observed(hostile("life_persist_reader")) == []


def test_kill_minus_one_reaches_no_other_process_of_the_same_uid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A sentinel runs outside the sandbox as the learner's own uid while the attack runs."""
    sentinels: list[subprocess.Popen[bytes]] = []
    alive: list[bool] = []
    acquire, stop = supervisor.acquire_slot, supervisor.stop

    @contextlib.contextmanager
    def slot_with_sentinel(wait_seconds: float = 60.0) -> Iterator[supervisor.Slot]:
        with acquire(wait_seconds) as slot:
            uid = f"{slot.learner_uid}"
            command = ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
            sentinels.append(subprocess.Popen([*command, "sleep", "60"]))
            yield slot

    def stop_after_looking(entry: Any) -> supervisor.Finished:
        if not alive:  # before the first teardown kills the learner uid's processes
            alive.append(sentinels[0].poll() is None)
        return stop(entry)

    monkeypatch.setattr(supervisor, "acquire_slot", slot_with_sentinel)
    monkeypatch.setattr(supervisor, "stop", stop_after_looking)
    try:
        result = hostile("life_kill_everything")
    finally:
        for sentinel in sentinels:
            sentinel.kill()
            sentinel.wait()
    assert alive == [True], "kill(-1) in the sandbox reached a process outside it"
    assert observed(result) == {"-1": "ProcessLookupError", "1": "PermissionError"}
    assert statuses(result) == ALL_FAIL  # the tests' sandbox ran on untouched


@pytest.fixture
def forged_pass() -> Iterator[Path]:
    forged = Path("/tmp/pymastery-hostile-forged.json")
    forged.write_text('{"version": 3, "status": "pass", "message": null, "tests": []}')
    yield forged
    forged.unlink()


def test_the_supervisor_never_follows_a_results_symlink(forged_pass: Path) -> None:
    result = hostile("life_symlink_results", grading=Grading.PRACTICE)
    assert result.status == "error" and result.tests == []
    assert result.message and result.message.startswith("The tests could not run to the end")


def test_the_supervisor_never_blocks_on_a_results_fifo() -> None:
    started = time.monotonic()
    result = hostile("life_fifo_results", grading=Grading.PRACTICE, time_limit=20)
    assert result.status == "error" and result.tests == []
    assert time.monotonic() - started < 10


def test_there_are_at_least_thirty_hostile_submissions_each_named_in_a_docstring() -> None:
    files = sorted(Path(__file__).with_name("hostile").glob("*.py"))
    assert len(files) >= 30
    for path in files:
        assert path.read_text().startswith('"""Attack'), f"{path.name} names no attack"
        assert path.stem in Path(__file__).read_text(), f"{path.name} is graded by no test"


def test_no_slot_uid_runs_between_grades() -> None:
    assert os.geteuid() == 0
    assert supervisor.leftovers() == {}
