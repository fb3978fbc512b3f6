"""The Celery app. Workers start with `celery -A pymastery.workers worker` and need the same
PYMASTERY_MODE, DATABASE_URL and PYMASTERY_GRADING_BROKER as the web app (docs/cohort-server.md)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pymastery.web.settings")

app = Celery("pymastery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["pymastery.workers"])
