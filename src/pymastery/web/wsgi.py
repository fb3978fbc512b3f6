"""WSGI entry point for `pymastery serve` and any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

from pymastery.web.learn.catalog import catalog
from pymastery.web.setup import MIGRATE_ON_START, migrate_if_needed
from pymastery.web.shared_pages import SharedPages

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pymastery.web.settings")
application = SharedPages(get_wsgi_application())
if os.environ.pop(MIGRATE_ON_START, ""):  # set by `pymastery serve`, for a laptop's own SQLite
    migrate_if_needed()
catalog()  # loaded before gunicorn forks (--preload), so workers share it and answer at once
