"""Attack: spin the CPU forever. Guarantee: the CPU limit (RLIMIT_CPU per process, the cgroup's
count for the whole tree) stops it, and the learner reads which limit in plain words."""


def invoice_total(lines: list[int]) -> int:
    while True:
        pass


def largest_line(lines: list[int]) -> None:
    return None
