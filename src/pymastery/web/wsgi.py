"""WSGI entry point for `pymastery serve` and any WSGI server."""

import os

from django.core.wsgi import get_wsgi_application

from pymastery.web.learn.catalog import catalog
from pymastery.web.shared_pages import SharedPages

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pymastery.web.settings")
application = SharedPages(get_wsgi_application())
catalog()  # loaded before gunicorn forks (--preload), so workers share it and answer at once
