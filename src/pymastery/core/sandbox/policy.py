"""The seccomp policy of the grading sandbox, and its compiled BPF program.

libseccomp's Python binding (Debian's `python3-seccomp`) imports only into Debian's own
`/usr/bin/python3`, not into the interpreter the grader runs. So this file is also a script:
`/usr/bin/python3 policy.py OUT` writes the BPF program to OUT, and `compiled_filter()` runs it
once and caches the result under the user's cache folder, keyed by a hash of this file's text.
Keep the script part to the standard library plus `seccomp`.

The policy allows by default and refuses, with EPERM, what sandboxed code never needs and what
has let code out of sandboxes before: sockets other than AF_UNIX (no network of any kind), new
namespaces, mounts, ptrace and cross-process memory, io_uring, keyrings, BPF, userfaultfd,
perf events, kernel modules and other administration calls. Syscalls of other architectures
(32-bit int 0x80, x32) are killed by libseccomp's default bad-architecture action.
"""

from __future__ import annotations

import errno
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

DEBIAN_PYTHON = "/usr/bin/python3"
AF_UNIX = 1
TIOCSTI = 0x5412
TIOCLINUX = 0x541C

# Namespace flags of clone(2); any one of them refused.
CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)

REFUSED = (
    # escaping or changing the sandbox
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "mount_setattr",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    # reading or steering other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    # large kernel attack surface
    "io_uring_setup", "io_uring_enter", "io_uring_register", "bpf", "userfaultfd",
    "perf_event_open", "keyctl", "add_key", "request_key", "fanotify_init",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie",
    # administration
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "quotactl_fd", "syslog", "uselib",
    "vhangup", "iopl", "ioperm", "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "nfsservctl", "sysfs", "ustat",
)  # fmt: skip


def build(out: Path) -> None:
    """Write the BPF program; runs under Debian's interpreter, where `seccomp` imports."""
    import seccomp  # type: ignore[import-not-found]  # Debian's python3-seccomp

    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for name in REFUSED:
        try:
            rules.add_rule(refuse, name)
        except (RuntimeError, ValueError):  # a name this libseccomp or kernel does not know
            continue
    # No network: only local socket pairs and Unix sockets, which the mount and network
    # namespaces leave with nothing to connect to.
    rules.add_rule(refuse, "socket", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    rules.add_rule(refuse, "socketpair", seccomp.Arg(0, seccomp.NE, AF_UNIX))
    for flag in CLONE_NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: say it does not exist, and the
    # C library falls back to clone, whose flags the rules above see.
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    # Typing into another terminal.
    rules.add_rule(refuse, "ioctl", seccomp.Arg(1, seccomp.EQ, TIOCSTI))
    rules.add_rule(refuse, "ioctl", seccomp.Arg(1, seccomp.EQ, TIOCLINUX))
    with out.open("wb") as handle:
        rules.export_bpf(handle)


def source_hash() -> str:
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def compiled_filter(cache_dir: Path) -> Path:
    """The BPF program for this policy, compiled once with Debian's interpreter."""
    target = cache_dir / f"seccomp-{source_hash()}.bpf"
    if target.is_file() and target.stat().st_size > 0:
        return target
    if not Path(DEBIAN_PYTHON).exists():
        raise RuntimeError(f"{DEBIAN_PYTHON} is missing: install Debian's python3-seccomp")
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=cache_dir, suffix=".part", delete=False) as part:
        partial = Path(part.name)
    try:
        completed = subprocess.run(
            [DEBIAN_PYTHON, "-I", str(Path(__file__).resolve()), str(partial)],
            env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if completed.returncode != 0 or partial.stat().st_size == 0:
            detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(
                f"could not build the seccomp filter ({detail[0]}); "
                "install Debian's python3-seccomp (tools/system-packages.sh)"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    build(Path(sys.argv[1]))
