"""Runs inside a sandbox: pytest over the exercise's tests, with the results plugin.

Standard library and pytest only: this file is bound read-only into the sandbox as
`/sandbox/lib/pymastery_harness.py`, beside `pymastery_results.py` (the plugin) and
`pymastery_channel.py`. Python runs with -I, so only folders named here are importable at start;
pytest adds the tests' own folder when it collects them. No conftest.py is ever loaded, and the
configuration file is the grader's, so nothing beside the tests can change how they run.
"""

from __future__ import annotations

import os
import sys


def main(tests_dir: str, config: str, targets: list[str]) -> int:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pymastery_results  # type: ignore[import-not-found]  # bound beside this file
    import pytest

    arguments = ["-q", "-p", "no:cacheprovider", "--noconftest", "-c", config]
    arguments += ["--rootdir", tests_dir, "--color=no", *targets]
    return int(pytest.main(arguments, plugins=[pymastery_results]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
