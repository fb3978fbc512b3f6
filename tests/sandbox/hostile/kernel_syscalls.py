"""Attack: the kernel interfaces sandboxes have been escaped through — ptrace, io_uring, keyctl,
bpf, userfaultfd, perf_event_open, a new user namespace, mount, reading another process's memory.
Guarantee: the seccomp filter refuses each with EPERM."""

import ctypes
import errno
import json

libc = ctypes.CDLL(None, use_errno=True)
SYSCALLS = {  # x86_64 numbers, harmless arguments
    "ptrace": (101, 16, 1, 0, 0),
    "io_uring_setup": (425, 8, 0),
    "keyctl": (250, 0, 0),
    "bpf": (321, 0, 0, 0),
    "userfaultfd": (323, 0),
    "perf_event_open": (298, 0, 0, -1, -1, 0),
    "unshare_user": (272, 0x10000000),
    "mount": (165, 0, 0, 0, 0, 0),
    "process_vm_readv": (310, 1, 0, 0, 0, 0, 0),
}


def attempt(number: int, *arguments: int) -> str:
    ctypes.set_errno(0)
    if libc.syscall(number, *arguments) >= 0:
        return "allowed"
    return errno.errorcode.get(ctypes.get_errno(), "?")


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({name: attempt(*spec) for name, spec in SYSCALLS.items()}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
