"""Attack: answer with a value too large for the tests' process (16 MiB of text).
Guarantee: the channel caps a message at 8 MiB; the call fails with a plain-words TypeError."""


def invoice_total(lines: list[int]) -> str:
    return "x" * (16 * 1024 * 1024)


def largest_line(lines: list[int]) -> None:
    return None
