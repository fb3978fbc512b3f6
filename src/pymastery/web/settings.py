"""One settings module, driven by environment variables.

Single-user (default): SQLite in the learner's data directory. Cohort: DATABASE_URL (PostgreSQL).
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from platformdirs import user_data_dir

from pymastery.web.env import env_bool, env_list, env_str

DATA_DIR = Path(env_str("PYMASTERY_DATA_DIR", user_data_dir("pymastery")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("PYMASTERY_DEBUG", False)
SECRET_KEY = env_str("PYMASTERY_SECRET_KEY", "")
if not SECRET_KEY:
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("PYMASTERY_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "pymastery.web.progress",
]

MIDDLEWARE: list[str] = []
ROOT_URLCONF = "pymastery.web.urls"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'pymastery.sqlite3'}"),
        conn_max_age=60,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
