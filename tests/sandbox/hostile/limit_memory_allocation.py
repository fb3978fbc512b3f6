"""Attack: one huge allocation (8 GiB). Guarantee: the address-space limit refuses it; the
MemoryError crosses to the tests with a note that the sandbox caps memory."""


def invoice_total(lines: list[int]) -> int:
    hog = bytearray(8 * 1024**3)
    return len(hog)


def largest_line(lines: list[int]) -> None:
    return None
