"""A per-sandbox control group (cgroup v1, as on this machine kind), where the kernel offers one.

Each sandbox gets its own group under the grader's own group in every v1 hierarchy it can write
(`<own path>/pymastery-sandbox/<name>`), so the accounting of whatever runs the grader still
covers it. The group caps memory (no swap either), processes and CPU share, counts CPU time,
tells afterwards which cap was hit, and can be frozen so that a process tree is killed without a
fork racing the kill. Without a writable hierarchy every method is a harmless no-op and the other
layers (rlimits, the PID namespace, the slot's uid) carry the guarantees alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

CONTROLLERS = ("memory", "pids", "cpu", "cpuacct", "freezer")
PARENT = "pymastery-sandbox"
CPU_PERIOD_US = 100_000


def own_hierarchies() -> dict[str, Path]:
    """Controller -> the directory of this process's own group, for writable v1 hierarchies."""
    own: dict[str, str] = {}
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            for name in names.split(","):
                own[name] = path
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except (OSError, ValueError):
        return {}
    found: dict[str, Path] = {}
    for line in mounts:
        fields = line.split()
        try:
            separator = fields.index("-")
        except ValueError:
            continue
        if fields[separator + 1] != "cgroup":
            continue
        root, mount_point = fields[3], fields[4]
        options = fields[separator + 3].split(",")
        for controller in CONTROLLERS:
            if controller in options and controller in own and controller not in found:
                relative = os.path.relpath(own[controller], root)
                base = Path(mount_point) / ("" if relative == "." else relative)
                if os.access(base, os.W_OK):
                    found[controller] = base
    return found


class Cgroup:
    """One sandbox's group in every hierarchy this process may write; see the module docstring."""

    def __init__(self, name: str) -> None:
        self.paths: dict[str, Path] = {}
        for controller, base in own_hierarchies().items():
            path = base / PARENT / name
            for _ in range(3):  # another grader may remove the empty parent in between
                try:
                    path.parent.mkdir(exist_ok=True)
                    if path.exists():  # left by a grader that died: empty it, start afresh
                        self._empty(path)
                        path.rmdir()
                    path.mkdir()
                except FileNotFoundError:
                    continue
                except OSError:
                    break
                self.paths[controller] = path
                break

    @property
    def available(self) -> bool:
        return bool(self.paths)

    def procs_files(self) -> list[Path]:
        return [path / "cgroup.procs" for path in self.paths.values()]

    def _write(self, controller: str, name: str, value: str) -> None:
        path = self.paths.get(controller)
        if path is not None:
            with contextlib.suppress(OSError):
                (path / name).write_text(value)

    def _read(self, controller: str, name: str) -> str:
        path = self.paths.get(controller)
        if path is None:
            return ""
        try:
            return (path / name).read_text()
        except OSError:
            return ""

    def limit(self, memory_bytes: int, processes: int, cpus: float) -> None:
        self._write("memory", "memory.limit_in_bytes", str(memory_bytes))
        self._write("memory", "memory.memsw.limit_in_bytes", str(memory_bytes))
        self._write("pids", "pids.max", str(processes))
        self._write("cpu", "cpu.cfs_period_us", str(CPU_PERIOD_US))
        self._write("cpu", "cpu.cfs_quota_us", str(int(CPU_PERIOD_US * cpus)))

    def cpu_seconds(self) -> float:
        text = self._read("cpuacct", "cpuacct.usage").strip()
        return int(text) / 1e9 if text.isdigit() else 0.0

    def memory_exhausted(self) -> bool:
        for line in self._read("memory", "memory.oom_control").splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value) > 0
        return False

    def processes_exhausted(self) -> bool:
        for line in self._read("pids", "pids.events").splitlines():
            key, _, value = line.partition(" ")
            if key == "max" and value.strip().isdigit():
                return int(value) > 0
        return False

    def pids(self) -> set[int]:
        found: set[int] = set()
        for path in self.paths.values():
            found |= self._pids_in(path)
        return found

    @staticmethod
    def _pids_in(path: Path) -> set[int]:
        try:
            return {int(pid) for pid in (path / "cgroup.procs").read_text().split()}
        except (OSError, ValueError):
            return set()

    def _empty(self, path: Path, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while (pids := self._pids_in(path)) and time.monotonic() < deadline:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def kill_all(self, timeout: float = 10.0) -> bool:
        """Freeze, kill every member, thaw, and wait until the group is empty."""
        if not self.paths:
            return True
        freezer = self.paths.get("freezer")
        if freezer is not None:
            self._write("freezer", "freezer.state", "FROZEN")
            until = time.monotonic() + 1.0
            while self._read("freezer", "freezer.state").strip() == "FREEZING":
                if time.monotonic() > until:
                    break
                time.sleep(0.002)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        if freezer is not None:
            self._write("freezer", "freezer.state", "THAWED")
        deadline = time.monotonic() + timeout
        while self.pids():
            if time.monotonic() > deadline:
                return False
            for pid in self.pids():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.005)
        return True

    def remove(self) -> None:
        """Remove the group, and its parent once empty: a cgroup with children cannot be removed,
        so a parent left behind would stop whoever owns the grader's own group from removing it."""
        for path in self.paths.values():
            with contextlib.suppress(OSError):
                path.rmdir()
            with contextlib.suppress(OSError):  # busy while another sandbox runs: fine
                path.parent.rmdir()
        self.paths = {}
