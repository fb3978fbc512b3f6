"""The trusted tests of the sandbox's test exercise (run in the tests' sandbox)."""

from invoice_total import invoice_total, largest_line  # type: ignore[import-not-found]


def test_it_sums_the_lines() -> None:
    assert invoice_total([100, 250]) == 350, "two lines of 100 and 250 cents make 350"


def test_an_empty_invoice_totals_zero() -> None:
    assert invoice_total([]) == 0


def test_it_rejects_negative_lines() -> None:
    import pytest

    with pytest.raises(ValueError, match="negative"):
        invoice_total([100, -5])


def test_it_finds_the_largest_line() -> None:
    assert largest_line([100, 900, 250]) == {"index": 1, "cents": 900}
    assert largest_line([]) is None
