"""ExceptionGroup and BaseExceptionGroup, split() and subgroup(), and what except* does.

A nightly import loads a tenant's invoices from a partner's file. Every invoice is validated,
and the import reports all the problems at once instead of stopping at the first.
"""

import traceback
from collections.abc import Sequence
from typing import Self


class InvalidAmount(ValueError):
    """An amount that is negative, or has more than two decimal places."""


class MissingField(KeyError):
    """A required column is empty."""


class DuplicateInvoice(Exception):
    """The invoice number already exists for this tenant."""


def show(label: str, value: object) -> None:
    print(f"  {label}: {value!r}")


def step_1_two_classes() -> None:
    print("1. ExceptionGroup for Exceptions, BaseExceptionGroup for anything else")
    plain = BaseExceptionGroup("import", [InvalidAmount("-3.00"), DuplicateInvoice("INV-7")])
    show("BaseExceptionGroup(...) of Exceptions is really", type(plain).__name__)
    mixed = BaseExceptionGroup("import", [InvalidAmount("-3.00"), KeyboardInterrupt()])
    show("with a KeyboardInterrupt inside it stays", type(mixed).__name__)
    show("ExceptionGroup is an Exception", issubclass(ExceptionGroup, Exception))
    show("and a BaseExceptionGroup", issubclass(ExceptionGroup, BaseExceptionGroup))
    try:
        ExceptionGroup("import", [KeyboardInterrupt()])  # type: ignore[type-var]  # mypy sees it
    except TypeError as refused:
        show("ExceptionGroup('import', [KeyboardInterrupt()]) raises", refused)
    try:
        ExceptionGroup("import", [])
    except ValueError as refused:
        show("ExceptionGroup('import', []) raises", refused)


def nightly_import_errors() -> ExceptionGroup[Exception]:
    """The shape a real import produces: one group per file section, nested."""
    line_items = ExceptionGroup(
        "line items of INV-12",
        [MissingField("vat_rate"), InvalidAmount("12.345")],
    )
    errors = ExceptionGroup(
        "tenant acme: 3 invoices rejected",
        [InvalidAmount("-3.00"), line_items, DuplicateInvoice("INV-7")],
    )
    errors.add_note("file=acme-2025-06.csv")
    return errors


def step_2_split_and_subgroup() -> None:
    print("2. split() and subgroup() keep the nesting, the message and the notes")
    errors = nightly_import_errors()
    amounts, others = errors.split(InvalidAmount)
    show("split(InvalidAmount) match", amounts)
    show("split(InvalidAmount) rest", others)
    assert amounts is not None
    show("notes copied onto the match", amounts.__notes__)
    show("subgroup(DuplicateInvoice)", errors.subgroup(DuplicateInvoice))
    show("subgroup(ConnectionError)", errors.subgroup(ConnectionError))
    show("subgroup(Exception) is the same object", errors.subgroup(Exception) is errors)
    visited: list[str] = []

    def keep_lookups(error: BaseException) -> bool:
        visited.append(type(error).__name__)
        return isinstance(error, LookupError)  # MissingField is a KeyError, a LookupError

    show("subgroup(predicate)", errors.subgroup(keep_lookups))
    show("the predicate was called on", visited)
    leaves: list[BaseException] = []

    def collect(group: BaseExceptionGroup[BaseException]) -> None:
        for member in group.exceptions:
            if isinstance(member, BaseExceptionGroup):
                collect(member)
            else:
                leaves.append(member)

    collect(errors)
    show("leaves, flattened by hand", leaves)


class ImportErrors(ExceptionGroup[Exception]):
    """A domain group that carries the tenant, and keeps its class through split()."""

    def __new__(cls, message: str, errors: Sequence[Exception], *, tenant: str) -> Self:
        return super().__new__(cls, message, errors)  # the base __new__ takes two arguments

    def __init__(self, message: str, errors: Sequence[Exception], *, tenant: str) -> None:
        super().__init__(message, errors)
        self.tenant = tenant

    def derive(self, errors: Sequence[Exception]) -> "ImportErrors":  # type: ignore[override]
        return ImportErrors(self.message, errors, tenant=self.tenant)


class BareImportErrors(ExceptionGroup[Exception]):
    """The same subclass without derive(): split() hands back plain ExceptionGroups."""


def step_3_subclasses_need_derive() -> None:
    print("3. a subclass survives split() only if it overrides derive()")
    members = [InvalidAmount("-3.00"), DuplicateInvoice("INV-7")]
    bare, _ = BareImportErrors("acme", members).split(InvalidAmount)
    show("without derive(), the match is a", type(bare).__name__)
    kept, _ = ImportErrors("acme", members, tenant="acme").split(InvalidAmount)
    assert isinstance(kept, ImportErrors)
    show("with derive(), the match is a", f"{type(kept).__name__} for tenant {kept.tenant}")


def step_4_except_star() -> None:
    print("4. except*: every matching clause runs once, with a group of its matches")
    try:
        try:
            raise nightly_import_errors()
        except* InvalidAmount as amounts:
            show("except* InvalidAmount got", amounts)
        except* (MissingField, ValueError) as rest:  # InvalidAmount is a ValueError too
            show("except* (MissingField, ValueError) got only what was left", rest)
    except ExceptionGroup as unhandled:
        show("not matched by any clause, re-raised", unhandled)


def step_5_naked_exceptions() -> None:
    print("5. a naked exception is wrapped in a group with an empty message")
    try:
        raise InvalidAmount("-3.00")
    except* InvalidAmount as wrapped:
        show("except* InvalidAmount on a naked raise got", wrapped)
    try:
        try:
            raise DuplicateInvoice("INV-7")
        except* InvalidAmount:
            print("  (not reached)")
    except DuplicateInvoice as still_naked:
        show("an unmatched naked exception leaves unwrapped", still_naked)
    try:
        try:
            raise InvalidAmount("-3.00")
        except* InvalidAmount:
            raise  # "log and re-raise"
    except ExceptionGroup as rewrapped:
        show("a bare raise in except* re-raises the wrapper", rewrapped)


def step_6_raising_inside_except_star() -> None:
    print("6. what a handler raises is combined with what nobody handled")
    try:
        try:
            raise nightly_import_errors()
        except* InvalidAmount as amounts:
            raise RuntimeError("amount parser is broken") from amounts
    except ExceptionGroup as result:
        show("propagates", result)
        show("the new error's __cause__", result.exceptions[0].__cause__)
    try:
        try:
            raise ExceptionGroup("batch", [InvalidAmount("1.001")])
        except* ExceptionGroup:  # type: ignore[misc]
            pass
    except TypeError as refused:
        show("except* ExceptionGroup raises", refused)


def step_7_how_a_log_prints_a_group() -> None:
    print("7. traceback renders the whole tree (this group was never raised, so no frames)")
    for line in traceback.format_exception(nightly_import_errors()):
        print(f"  {line.rstrip()}")


def main() -> None:
    step_1_two_classes()
    step_2_split_and_subgroup()
    step_3_subclasses_need_derive()
    step_4_except_star()
    step_5_naked_exceptions()
    step_6_raising_inside_except_star()
    step_7_how_a_log_prints_a_group()


if __name__ == "__main__":
    main()
