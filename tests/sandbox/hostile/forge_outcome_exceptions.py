"""Attack: raise exceptions named like pytest's outcomes (Skipped, XFailed, Exit) and a
KeyboardInterrupt, hoping the tests' runner skips, expects the failure, or stops with status 0.
Guarantee: only builtin Exception types are raised again test-side; these arrive as LearnerError
and each test fails, while the session runs to the end."""


class Skipped(Exception):  # named to impersonate pytest
    pass


class XFailed(Exception):
    pass


def invoice_total(lines: list[int]) -> int:
    if lines == [100, 250]:
        raise Skipped("skip me")
    if not lines:
        raise XFailed("expected to fail")
    raise KeyboardInterrupt


def largest_line(lines: list[int]) -> None:
    raise SystemExit(0)
