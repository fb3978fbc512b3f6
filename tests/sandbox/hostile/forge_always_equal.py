"""Attack: return an object whose __eq__ is always true, so every `==` assertion passes.
Guarantee: only JSON values cross; the object cannot, and the test gets a TypeError instead."""

from typing import Any


class Anything:
    def __eq__(self, other: object) -> bool:
        return True

    def __ne__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def invoice_total(lines: list[int]) -> Any:
    return Anything()


def largest_line(lines: list[int]) -> Any:
    return Anything()
