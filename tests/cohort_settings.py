"""Django settings for the cohort tests: the real cohort settings on the real PostgreSQL and Redis.

`make test` runs tests/cohort in a pytest session of its own with `--ds tests.cohort_settings`,
because the mode decides the middleware, the apps and the database at import time.
"""

import os
import tempfile

os.environ.update(
    PYMASTERY_MODE="cohort",
    PYMASTERY_DATA_DIR=tempfile.mkdtemp(prefix="pymastery-cohort-tests-"),
    PYMASTERY_SSL_REDIRECT="0",  # the test client speaks plain HTTP; the deploy check covers HTTPS
    PYMASTERY_CACHE_PREFIX=f"pymastery-tests-{os.getpid()}",
    PYMASTERY_GRADING_QUEUE=f"grading-tests-{os.getpid()}",
)
os.environ.setdefault("PYMASTERY_GRADING_BROKER", "redis://127.0.0.1:6379/3")
os.environ.setdefault(
    "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pymastery_cohort"
)  # pytest-django creates and drops test_pymastery_cohort
os.environ.setdefault("PYMASTERY_CACHE_URL", "redis://127.0.0.1:6379/2")

from pymastery.web.settings import *  # noqa: F403
