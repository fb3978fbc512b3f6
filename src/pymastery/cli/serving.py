"""`pymastery serve`: bring the database up to date, then hand over to gunicorn."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pymastery.cli.render import console


def serve(host: str, port: int, workers: int) -> None:
    """Exec gunicorn at once; its master sets Django up, migrates and loads the catalog once
    (--preload) before forking the workers."""
    from pymastery.web.setup import MIGRATE_ON_START

    os.environ["DJANGO_SETTINGS_MODULE"] = "pymastery.web.settings"
    os.environ[MIGRATE_ON_START] = "1"
    from django.conf import settings

    mode = "single-user" if settings.SINGLE_USER else "cohort"
    database = settings.DATABASES["default"]["NAME"]
    console().print(
        f"[bold]Python Mastery[/] ({mode}) on [link]http://{host}:{port}/[/link]"
        f" · database {database} · Ctrl-C stops it"
    )
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    os.execv(
        gunicorn,
        [
            gunicorn,
            "pymastery.web.wsgi:application",
            "--bind",
            f"{host}:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--no-control-socket",
            "--log-level",
            "warning",
            "--preload",
        ],
    )
