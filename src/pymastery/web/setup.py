"""Start Django from outside manage.py (the CLI) and bring the database up to date."""

from __future__ import annotations

import os

MIGRATE_ON_START = "PYMASTERY_MIGRATE_ON_START"


def start_django() -> None:
    """Configure Django and apply pending migrations; cheap when there are none."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "pymastery.web.settings"
    import django

    django.setup()
    migrate_if_needed()


def migrate_if_needed() -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        call_command("migrate", verbosity=0, interactive=False)
