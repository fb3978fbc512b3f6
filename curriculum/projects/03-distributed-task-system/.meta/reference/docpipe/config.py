"""Settings from environment variables, read once per process.

Every process of the system (the API server, each worker, a script calling `submit`) reads the
same variables, so one environment describes one deployment. The namespace prefixes every queue,
exchange, table and result key, so two deployments (or two test runs) share the brokers and the
database without seeing each other's work.
"""

import os
import re
from dataclasses import dataclass
from functools import cache

NAMESPACE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")
DEFAULT_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_RESULT_BACKEND = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"


def url_setting(own: str, shared: str, default: str) -> str:
    """The docpipe variable, else the course-wide PYMASTERY_* one, else the local default."""
    return os.environ.get(own) or os.environ.get(shared) or default


def sqlalchemy_url(url: str) -> str:
    """SQLAlchemy picks psycopg2 for a bare postgresql:// URL; this system uses psycopg 3."""
    scheme, separator, rest = url.partition("://")
    if separator and scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    return url


def number_setting(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ValueError(f"{name}={raw!r} is below its minimum, {minimum:g}")
    return value


@dataclass(frozen=True)
class Settings:
    broker_url: str
    result_backend: str
    database_url: str
    namespace: str
    retry_backoff: float  # seconds before the first retry; doubled for each later one
    retry_backoff_max: float  # the cap on one wait
    max_retries: int  # retries after the first attempt; attempts = max_retries + 1
    job_retention: float  # seconds a finished job is kept before cleanup deletes it
    cleanup_every: float  # seconds between two cleanup runs scheduled by Celery Beat

    @classmethod
    def from_environment(cls) -> "Settings":
        namespace = os.environ.get("DOCPIPE_NAMESPACE") or "docpipe"
        if not NAMESPACE_PATTERN.fullmatch(namespace):
            raise ValueError(
                f"DOCPIPE_NAMESPACE={namespace!r} must match {NAMESPACE_PATTERN.pattern}: it "
                "becomes part of table, queue and key names"
            )
        return cls(
            broker_url=url_setting(
                "DOCPIPE_BROKER_URL", "PYMASTERY_RABBITMQ_URL", DEFAULT_BROKER_URL
            ),
            result_backend=url_setting(
                "DOCPIPE_RESULT_BACKEND", "PYMASTERY_REDIS_URL", DEFAULT_RESULT_BACKEND
            ),
            database_url=sqlalchemy_url(
                url_setting("DOCPIPE_DATABASE_URL", "PYMASTERY_POSTGRES_URL", DEFAULT_DATABASE_URL)
            ),
            namespace=namespace,
            retry_backoff=number_setting("DOCPIPE_RETRY_BACKOFF", 2.0, 0.01),
            retry_backoff_max=number_setting("DOCPIPE_RETRY_BACKOFF_MAX", 300.0, 0.01),
            max_retries=int(number_setting("DOCPIPE_MAX_RETRIES", 5, 0)),
            job_retention=number_setting("DOCPIPE_JOB_RETENTION", 7 * 24 * 3600.0, 0),
            cleanup_every=number_setting("DOCPIPE_CLEANUP_EVERY", 3600.0, 1),
        )

    @property
    def pages_queue(self) -> str:
        return f"{self.namespace}.pages"

    @property
    def maintenance_queue(self) -> str:
        return f"{self.namespace}.maintenance"

    def backoff(self, retries: int) -> float:
        """The wait before retry number retries + 1: base * 2**retries, capped."""
        return float(min(self.retry_backoff_max, self.retry_backoff * 2**retries))


@cache
def settings() -> Settings:
    return Settings.from_environment()
