"""Attack (practice grading, where the learner's code shares the tests' sandbox): replace the
results file with a symlink to a host file that holds a passing result
(/tmp/pymastery-hostile-forged.json, made by the test), and stop the plugin from writing.
Guarantee: the supervisor opens results with O_NOFOLLOW under a directory descriptor and requires
a regular file; the grade is an error, not a pass."""

import contextlib
import os

target = os.environ.pop("PYMASTERY_RESULTS_FILE", "/sandbox/out/results.json")
with contextlib.suppress(OSError):
    os.symlink("/tmp/pymastery-hostile-forged.json", target)


def invoice_total(lines: list[int]) -> int:
    return -1


def largest_line(lines: list[int]) -> None:
    return None
