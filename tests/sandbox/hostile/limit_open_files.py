"""Attack: open files until the kernel's table suffers. Guarantee: RLIMIT_NOFILE stops it at 256;
the OSError crosses with a plain note."""

files: list[object] = []


def invoice_total(lines: list[int]) -> int:
    for _ in range(10_000):
        files.append(open("/dev/null"))  # noqa: SIM115  # kept open on purpose
    return -1


def largest_line(lines: list[int]) -> None:
    return None
