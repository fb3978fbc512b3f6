"""The cohort server's production settings pass Django's deployment checklist."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def test_manage_py_check_deploy_reports_nothing(tmp_path: Path) -> None:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PYMASTERY_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        PYMASTERY_MODE="cohort",
        PYMASTERY_DATA_DIR=str(tmp_path),
        PYMASTERY_SECRET_KEY=secrets.token_urlsafe(50),
        PYMASTERY_ALLOWED_HOSTS="mastery.example.com",
        DATABASE_URL=os.environ.get(
            "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pymastery_cohort"
        ),
    )
    completed = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output
