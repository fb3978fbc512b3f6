"""Attack: the same trick hidden in an int subclass (JSON encoders accept int subclasses), and a
dict subclass. Guarantee: what crosses is the plain value (0, {}), which compares honestly."""

from typing import Any


class Zero(int):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = int.__hash__


class Everything(dict[str, int]):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None


def invoice_total(lines: list[int]) -> int:
    return Zero(0)


def largest_line(lines: list[int]) -> Any:
    return Everything()
