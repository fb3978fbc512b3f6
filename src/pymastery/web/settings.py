"""One settings module, driven by environment variables.

Single-user (default): SQLite in the learner's data directory, no sign-up, 127.0.0.1 only.
Cohort: PYMASTERY_MODE=cohort with PostgreSQL through DATABASE_URL, Redis as the cache, accounts,
cohorts and instructors, behind HTTPS (docs/cohort-server.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from csp.constants import NONCE, NONE, SELF
from platformdirs import user_data_dir

from pymastery.web.env import env_bool, env_choice, env_int, env_list, env_str

django_stubs_ext.monkeypatch()

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
    "pymastery.web.accounts",
    "pymastery.web.learn",
]
if not SINGLE_USER:
    INSTALLED_APPS += ["django.contrib.admin", "django.contrib.messages", "axes"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pymastery.web.learn.middleware.single_user",
    "pymastery.web.learn.middleware.csrf_cookie",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if not SINGLE_USER:
    MIDDLEWARE += [
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "axes.middleware.AxesMiddleware",  # last, as django-axes asks
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
                "pymastery.web.accounts.context.mode",
            ]
            + ([] if SINGLE_USER else ["django.contrib.messages.context_processors.messages"]),
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

# Cohort grading: Celery workers (pymastery.workers) take submissions from this broker and grade
# them in the sandbox. Without a broker a cohort server cannot check exercises (Check says so).
PYMASTERY_GRADING_BROKER = env_str("PYMASTERY_GRADING_BROKER", "")
PYMASTERY_GRADING_SANDBOX = env_bool("PYMASTERY_GRADING_SANDBOX", True)
# A claim older than this is presumed dead and may be taken over; longer than any grading run.
PYMASTERY_GRADING_LEASE = env_int("PYMASTERY_GRADING_LEASE", 90)
CELERY_BROKER_URL = PYMASTERY_GRADING_BROKER or "memory://"
CELERY_TASK_DEFAULT_QUEUE = env_str("PYMASTERY_GRADING_QUEUE", "grading")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers a message that was taken but never acknowledged after this long.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("PYMASTERY_GRADING_REDELIVERY_SECONDS", 120)
}

# Celery Beat (one process per site) sweeps for submissions that were lost, every lease.
CELERY_BEAT_SCHEDULE = {
    "resend-lost-submissions": {
        "task": "pymastery.workers.tasks.resend_lost_submissions",
        "schedule": float(PYMASTERY_GRADING_LEASE),
    }
}

# FSRS spreads due dates a little so cards learned together are not all due together.
PYMASTERY_REVIEW_FUZZ = env_bool("PYMASTERY_REVIEW_FUZZ", True)

# Content-Security-Policy: everything comes from this server; no inline script, and inline style
# only where a page hands out a nonce (the exercise editor).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, NONCE],  # the nonce only for the exercise editor's injected styles
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}
X_FRAME_OPTIONS = "DENY"

if SINGLE_USER:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("PYMASTERY_CACHE_URL", "redis://127.0.0.1:6379/1"),
            "KEY_PREFIX": env_str("PYMASTERY_CACHE_PREFIX", "pymastery"),
        }
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

    # Accounts. Argon2 at OWASP's minimum cost (tens of ms), not Django's default (~0.5-1 s here),
    # so a flood of logins cannot starve the web workers.
    PASSWORD_HASHERS = [
        "pymastery.web.accounts.hashers.TunedArgon2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]
    AUTH_PASSWORD_VALIDATORS = [
        {"NAME": f"django.contrib.auth.password_validation.{name}"}
        for name in (
            "UserAttributeSimilarityValidator",
            "MinimumLengthValidator",
            "CommonPasswordValidator",
            "NumericPasswordValidator",
        )
    ]
    AUTHENTICATION_BACKENDS = [
        "axes.backends.AxesStandaloneBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    LOGIN_URL = "login"
    LOGIN_REDIRECT_URL = "home"
    LOGOUT_REDIRECT_URL = "login"

    # Failed logins: five for one username from one address lock that pair out for 15 minutes.
    AXES_FAILURE_LIMIT = env_int("PYMASTERY_LOGIN_FAILURE_LIMIT", 5)
    AXES_COOLOFF_TIME = timedelta(minutes=env_int("PYMASTERY_LOCKOUT_MINUTES", 15))
    AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
    AXES_RESET_ON_SUCCESS = True
    AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
    AXES_IPWARE_PROXY_COUNT = env_int("PYMASTERY_PROXY_COUNT", 0) or None

    EMAIL_BACKEND = env_str(
        "PYMASTERY_EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend"
    )
    EMAIL_HOST = env_str("PYMASTERY_EMAIL_HOST", "127.0.0.1")
    EMAIL_PORT = env_int("PYMASTERY_EMAIL_PORT", 25)
    EMAIL_HOST_USER = env_str("PYMASTERY_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = env_str("PYMASTERY_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("PYMASTERY_EMAIL_TLS", False)
    DEFAULT_FROM_EMAIL = env_str("PYMASTERY_EMAIL_FROM", "Python Mastery <noreply@localhost>")

    # HTTPS only. Behind a TLS-terminating proxy, set PYMASTERY_BEHIND_PROXY=1.
    SECURE_SSL_REDIRECT = env_bool("PYMASTERY_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("PYMASTERY_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PYMASTERY_HSTS_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("PYMASTERY_HSTS_PRELOAD", True)
    if env_bool("PYMASTERY_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CSRF_TRUSTED_ORIGINS = env_list("PYMASTERY_TRUSTED_ORIGINS", [])
