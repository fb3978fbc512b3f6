"""Attack: write one 64 MiB file. Guarantee: RLIMIT_FSIZE stops the write at 16 MiB; the OSError
crosses with a plain note about the file-size cap."""


def invoice_total(lines: list[int]) -> int:
    with open("/tmp/big", "wb") as handle:
        for _ in range(64):
            handle.write(b"x" * 1024**2)
    return -1


def largest_line(lines: list[int]) -> None:
    return None
