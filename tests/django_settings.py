"""Django settings for the test run: the real settings, with a throwaway data directory."""

import os
import tempfile

os.environ.setdefault("PYMASTERY_DATA_DIR", tempfile.mkdtemp(prefix="pymastery-tests-"))

from pymastery.web.settings import *  # noqa: F403
