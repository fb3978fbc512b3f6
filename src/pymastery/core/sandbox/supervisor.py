"""Start sandboxes, watch them, stop them, and make sure nothing of them is left.

A sandbox is this chain, each link a maintained Debian tool, started from an empty environment
with only the descriptors named here open:

    sh (joins the per-sandbox cgroup) -> env -i -> bwrap (run by root: new mount, PID, network,
    IPC, UTS and cgroup namespaces; an allow-list of read-only binds; a size-capped /tmp; the
    seccomp filter) -> prlimit (CPU, address space, file size, open files, processes, no core)
    -> setpriv (the slot's own uid and gid, no groups, no capabilities, no-new-privs) -> python

bwrap runs as root and without a user namespace so that it can bind the interpreter wherever it
lives (pyenv's is under /root, which a slot's uid may not enter); privileges are dropped inside,
by setpriv, after the namespaces exist. The supervisor enforces wall time and the output cap,
then kills the whole tree (the process group, the cgroup frozen and killed, every process of
the slot's uids) and waits until it is gone before the slot is used again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from pymastery.core.sandbox.cgroup import Cgroup

SLOT_UID_BASE = 61000  # slot n runs as uids 61000 + 2n (learner) and 61001 + 2n (tests)
SLOT_COUNT = 100  # so the range is 61000-61199; none of them needs an /etc/passwd entry
LOCK_DIR = Path("/run/pymastery-sandbox")
TOOLS = ("/usr/bin/bwrap", "/usr/bin/setpriv", "/usr/bin/prlimit", "/usr/bin/env", "/bin/sh")


class SandboxUnavailable(RuntimeError):
    """This machine cannot run the sandbox; the message says why in plain words."""


class Breach(StrEnum):
    """Which limit stopped a sandbox, most specific first (the order a verdict names them in)."""

    MEMORY = "memory"
    PROCESSES = "processes"
    OUTPUT = "output"
    CPU = "cpu"
    WALL = "wall"

    @property
    def rank(self) -> int:
        return list(Breach).index(self)


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 30.0
    cpu_seconds: int = 20
    memory_bytes: int = 1024**3  # the cgroup's cap for the whole sandbox
    address_space_bytes: int = 2 * 1024**3  # per process: a huge allocation is a MemoryError
    processes: int = 64
    file_bytes: int = 16 * 1024**2
    tmp_bytes: int = 64 * 1024**2
    output_bytes: int = 1024**2
    open_files: int = 256
    cpus: float = 1.0

    def describe(self, breach: Breach) -> str:
        """The limit, in words a learner reads."""
        if breach is Breach.WALL:
            return (
                f"Your code ran for more than {self.wall_seconds:.0f} seconds and was stopped. "
                "Look for a loop that never ends or a call that waits forever."
            )
        if breach is Breach.CPU:
            return (
                f"Your code used more than {self.cpu_seconds} seconds of CPU time and was "
                "stopped. Look for a loop that never ends, or work repeated far more than needed."
            )
        if breach is Breach.MEMORY:
            return (
                f"Your code used more than {self.memory_bytes // 1024**2} MiB of memory and was "
                "stopped. Look for a list or string that keeps growing."
            )
        if breach is Breach.PROCESSES:
            return (
                f"Your code tried to run more than {self.processes} processes or threads at "
                "once; the sandbox refused the rest. Start fewer, and wait for them to finish."
            )
        return (
            f"Your code printed more than {self.output_bytes // 1024} KiB of output and was "
            "stopped. Remove the print in the loop, or print less."
        )


@dataclass(frozen=True)
class Bind:
    source: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class Box:
    """One sandbox to start: what runs, as whom, seeing what."""

    name: str
    uid: int
    command: Sequence[str]
    binds: Sequence[Bind]
    cwd: str
    env: Mapping[str, str] = field(default_factory=dict)
    pass_fds: Sequence[int] = ()
    primary: bool = True  # the job ends when every primary box has exited


@dataclass
class Finished:
    name: str
    returncode: int | None
    output: bytes
    breach: Breach | None
    cpu_seconds: float


def unavailable_reason() -> str | None:
    """Why the sandbox cannot run here, or None when it can."""
    if sys.platform != "linux":
        return "the grading sandbox runs on Linux only"
    if os.geteuid() != 0:
        return (
            "the grading sandbox must run as root, to give each grading slot its own user id; "
            "cohort graders run as root"
        )
    missing = [tool for tool in TOOLS if not os.access(tool, os.X_OK)]
    if missing:
        return (
            f"{', '.join(missing)} missing: install the Debian packages with "
            "`bash tools/system-packages.sh`"
        )
    return None


def cache_dir() -> Path:
    from pymastery.core.locations import cache_dir as learner_cache

    return learner_cache() / "sandbox"


class Slot:
    """An exclusive grading slot: its two uids are used by one job at a time."""

    def __init__(self, index: int, lock_fd: int) -> None:
        self.index = index
        self._lock_fd = lock_fd
        self.learner_uid = SLOT_UID_BASE + 2 * index
        self.tests_uid = self.learner_uid + 1

    @property
    def uids(self) -> tuple[int, int]:
        return (self.learner_uid, self.tests_uid)

    def release(self) -> None:
        os.close(self._lock_fd)


@contextlib.contextmanager
def acquire_slot(wait_seconds: float = 60.0) -> Iterator[Slot]:
    """Take the first free slot (a lock file per slot), waiting for one if all are busy."""
    LOCK_DIR.mkdir(mode=0o700, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        for index in range(SLOT_COUNT):
            fd = os.open(LOCK_DIR / f"slot-{index}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            slot = Slot(index, fd)
            try:
                kill_uids(slot.uids)  # a grader that died may have left something behind
                yield slot
            finally:
                slot.release()
            return
        if time.monotonic() > deadline:
            raise SandboxUnavailable("every grading slot is busy; try again in a minute")
        time.sleep(0.05)


def process_uids() -> dict[int, set[int]]:
    """Every process's real, effective, saved and filesystem uids."""
    found: dict[int, set[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"Uid:"):
                        found[int(entry.name)] = {int(uid) for uid in line.split()[1:]}
                        break
        except (OSError, ValueError):
            continue
    return found


def processes_of(uids: Sequence[int]) -> set[int]:
    """PIDs of processes running with one of `uids` in any of their uid fields."""
    wanted = set(uids)
    return {pid for pid, theirs in process_uids().items() if theirs & wanted}


def leftovers() -> dict[int, int]:
    """Processes (pid -> uid) of a slot's uids whose slot no grader holds: none should exist."""
    first, last = SLOT_UID_BASE, SLOT_UID_BASE + 2 * SLOT_COUNT
    found: dict[int, int] = {}
    for pid, theirs in process_uids().items():
        for uid in theirs:
            if first <= uid < last:
                found[pid] = uid
    idle: dict[int, bool] = {}
    for uid in set(found.values()):
        index = (uid - SLOT_UID_BASE) // 2
        if index not in idle:
            idle[index] = _slot_is_idle(index)
    return {pid: uid for pid, uid in found.items() if idle[(uid - SLOT_UID_BASE) // 2]}


def _slot_is_idle(index: int) -> bool:
    try:
        fd = os.open(LOCK_DIR / f"slot-{index}.lock", os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops the lock if we took it
    return True


def kill_uids(uids: Sequence[int], timeout: float = 10.0) -> bool:
    """Kill every process running as one of `uids` and wait until none is left."""
    deadline = time.monotonic() + timeout
    while pids := processes_of(uids):
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.005)
    return True


def python_roots() -> list[Path]:
    """Folders the grader's interpreter and virtual environment live in, outside /usr."""
    candidates = [
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(sys.exec_prefix),
        Path(sys.base_exec_prefix),
        Path(os.path.realpath(sys.executable)).parent.parent,
    ]
    roots: list[Path] = []
    for candidate in candidates:
        path = Path(os.path.realpath(candidate))
        if path == Path("/") or path.is_relative_to("/usr") or path in roots:
            continue
        roots.append(path)
    return roots


def bwrap_arguments(box: Box, limits: Limits, seccomp_fd: int) -> list[str]:
    args = [
        "/usr/bin/bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        top = Path("/") / name
        if top.is_symlink():
            args += ["--symlink", os.readlink(top), str(top)]
        elif top.is_dir():
            args += ["--ro-bind", str(top), str(top)]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for tmp in ("/tmp", "/dev/shm"):
        args += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", tmp]
    made = {Path("/"), Path("/tmp"), Path("/usr"), Path("/proc"), Path("/dev")}
    binds = [Bind(root, str(root)) for root in python_roots()] + list(box.binds)
    for bind in binds:
        # bwrap creates missing parents 0700 and root-owned: make them enterable by the slot
        for parent in reversed(Path(bind.target).parents):
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        made.add(Path(bind.target))
        args += ["--bind" if bind.writable else "--ro-bind", str(bind.source), bind.target]
    args += ["--chdir", box.cwd, "--clearenv"]
    for key, value in box.env.items():
        args += ["--setenv", key, value]
    args += ["--seccomp", str(seccomp_fd), "--"]
    return args


def inner_command(box: Box, limits: Limits) -> list[str]:
    cpu = limits.cpu_seconds
    nproc = limits.processes + 16  # the cgroup's pids cap, lower, is the one that reports
    return [
        "/usr/bin/prlimit",
        f"--cpu={cpu}:{cpu + 1}",
        f"--as={limits.address_space_bytes}",
        f"--fsize={limits.file_bytes}",
        f"--nofile={limits.open_files}",
        f"--nproc={nproc}",
        "--core=0",
        "--",
        "/usr/bin/setpriv",
        f"--reuid={box.uid}",
        f"--regid={box.uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
        *box.command,
    ]


JOIN_CGROUPS = 'for f; do [ "$f" = -- ] && break; echo $$ > "$f" || exit 125; shift; done; shift'


@dataclass
class _Running:
    box: Box
    process: subprocess.Popen[bytes]
    cgroup: Cgroup
    output: bytearray = field(default_factory=bytearray)
    open: bool = True
    breach: Breach | None = None


def run(
    boxes: Sequence[Box],
    limits: Limits,
    seccomp: Path,
    close_after_start: Sequence[int] = (),
) -> list[Finished]:
    """Run the boxes side by side until every primary box exits or a limit is hit.

    `close_after_start` are descriptors of ours (a channel's ends) to close once every box has
    started, so that a box sees the other end close when the other box dies.
    """
    deadline = time.monotonic() + limits.wall_seconds
    running: list[_Running] = []
    selector = selectors.DefaultSelector()
    try:
        for box in boxes:
            cgroup = Cgroup(f"uid-{box.uid}")
            cgroup.limit(limits.memory_bytes, limits.processes, limits.cpus)
            seccomp_fd = os.open(seccomp, os.O_RDONLY)  # inheritable; bwrap closes it
            try:
                command = [
                    "/usr/bin/env",
                    "-i",
                    *bwrap_arguments(box, limits, seccomp_fd),
                    *inner_command(box, limits),
                ]
                if cgroup.available:  # join the groups first, then become the chain
                    procs = [str(path) for path in cgroup.procs_files()]
                    join = ["/bin/sh", "-c", f'{JOIN_CGROUPS}; exec "$@"', "sh", *procs, "--"]
                    command = join + command
                process = subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    env={},
                    close_fds=True,
                    pass_fds=(seccomp_fd, *box.pass_fds),
                    start_new_session=True,
                    umask=0o022,
                )
            finally:
                os.close(seccomp_fd)
            assert process.stdout is not None
            entry = _Running(box, process, cgroup)
            running.append(entry)
            os.set_blocking(process.stdout.fileno(), False)
            selector.register(process.stdout, selectors.EVENT_READ, entry)
        for fd in close_after_start:
            os.close(fd)
        close_after_start = ()
        supervise(running, selector, limits, deadline)
    finally:
        for fd in close_after_start:
            with contextlib.suppress(OSError):
                os.close(fd)
        selector.close()
        finished = [stop(entry) for entry in running]
    return finished


def supervise(
    running: list[_Running], selector: selectors.BaseSelector, limits: Limits, deadline: float
) -> None:
    total = 0
    while True:
        for key, _ in selector.select(timeout=0.01):
            entry: _Running = key.data
            try:
                chunk = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                selector.unregister(key.fileobj)
                entry.open = False
                continue
            total += len(chunk)
            room = limits.output_bytes - len(entry.output)
            entry.output += chunk[: max(room, 0)]
            if total > limits.output_bytes:
                entry.breach = Breach.OUTPUT
                return
        for entry in running:
            if entry.cgroup.memory_exhausted():
                entry.breach = Breach.MEMORY
            elif entry.cgroup.processes_exhausted():
                entry.breach = Breach.PROCESSES
            elif entry.cgroup.cpu_seconds() > limits.cpu_seconds:
                entry.breach = Breach.CPU
            if entry.breach is not None:
                return
        primaries = [entry for entry in running if entry.box.primary]
        if all(entry.process.poll() is not None and not entry.open for entry in primaries):
            return
        if time.monotonic() > deadline:
            for entry in running:
                entry.breach = entry.breach or Breach.WALL
            return


def stop(entry: _Running) -> Finished:
    """Kill what is left of one sandbox and wait until it is gone."""
    process = entry.process
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # sh/env/bwrap; the PID namespace dies with it
    entry.cgroup.kill_all()
    process.wait()
    if process.stdout is not None:
        process.stdout.close()
    kill_uids([entry.box.uid])
    seen = [entry.breach] if entry.breach is not None else []
    if entry.cgroup.memory_exhausted():
        seen.append(Breach.MEMORY)
    if entry.cgroup.processes_exhausted():
        seen.append(Breach.PROCESSES)
    if process.returncode in (128 + signal.SIGXCPU, -signal.SIGXCPU):
        seen.append(Breach.CPU)
    breach = min(seen, key=lambda found: found.rank, default=None)
    cpu = entry.cgroup.cpu_seconds()
    entry.cgroup.remove()
    return Finished(entry.box.name, process.returncode, bytes(entry.output), breach, cpu)


def remove_tree(path: Path) -> None:
    """Delete a job folder without following any link the sandbox made in it."""
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)  # fd-based on Linux: symlinks are unlinked, never followed
