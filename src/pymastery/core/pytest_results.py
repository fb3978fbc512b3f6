"""A pytest plugin that writes the grading result file (see pymastery.core.grading)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

RESULTS_VARIABLE = "PYMASTERY_RESULTS_FILE"
OUTPUT_CAP = 500


class Collector:
    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}
        self.errors: list[str] = []

    @staticmethod
    def explain(report: pytest.TestReport | pytest.CollectReport) -> str:
        crash = getattr(report.longrepr, "reprcrash", None)
        if crash is not None and crash.message:
            return str(crash.message)
        return report.longreprtext.strip()[-1500:]

    @staticmethod
    def capped(text: str) -> str | None:
        if not text:
            return None
        if len(text) > OUTPUT_CAP:
            return text[:OUTPUT_CAP] + f"\n[output truncated at {OUTPUT_CAP} characters]"
        return text

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(report.longreprtext.strip()[-1500:])

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.split("::", 1)[-1]
        entry = self.tests.setdefault(
            name, {"name": name, "status": "pass", "message": None, "output": None, "task_id": None}
        )
        if report.failed:
            entry["status"] = "fail" if report.when == "call" else "error"
            entry["message"] = self.explain(report)
        if report.when == "call" or report.failed:
            entry["output"] = self.capped(report.capstdout + report.capstderr)

    def result(self) -> dict[str, Any]:
        tests = list(self.tests.values())
        if self.errors:
            return {
                "version": 3,
                "status": "error",
                "message": "\n\n".join(self.errors),
                "tests": tests,
            }
        if not tests:
            return {"version": 3, "status": "error", "message": "No tests ran.", "tests": []}
        status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
        return {"version": 3, "status": status, "message": None, "tests": tests}

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        target = os.environ.get(RESULTS_VARIABLE)
        if target:
            Path(target).write_text(json.dumps(self.result()), encoding="utf-8")


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(Collector(), "pymastery-results")
