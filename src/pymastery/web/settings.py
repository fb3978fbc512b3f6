"""One settings module, driven by environment variables.

Single-user (default): SQLite in the learner's data directory, no sign-up, 127.0.0.1 only.
Cohort: PYMASTERY_MODE=cohort with PostgreSQL through DATABASE_URL.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url
from platformdirs import user_data_dir

from pymastery.web.env import env_bool, env_choice, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("PYMASTERY_DATA_DIR", user_data_dir("pymastery")))
DATA_DIR.mkdir(parents=True, exist_ok=True)

MODE = env_choice("PYMASTERY_MODE", "single", ("single", "cohort"))
SINGLE_USER = MODE == "single"
DEBUG = env_bool("PYMASTERY_DEBUG", False)

SECRET_KEY = env_str("PYMASTERY_SECRET_KEY", "")
if not SECRET_KEY:
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        import secrets

        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("PYMASTERY_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "pymastery.web.progress",
    "pymastery.web.learn",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pymastery.web.learn.middleware.single_user",
    "pymastery.web.learn.middleware.csrf_cookie",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "pymastery.web.urls"
WSGI_APPLICATION = "pymastery.web.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'pymastery.sqlite3'}"),
        conn_max_age=60,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve straight from the package; no collectstatic on a laptop
WHITENOISE_MAX_AGE = 3600

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en"

# FSRS spreads due dates a little so cards learned together are not all due together.
PYMASTERY_REVIEW_FUZZ = env_bool("PYMASTERY_REVIEW_FUZZ", True)
