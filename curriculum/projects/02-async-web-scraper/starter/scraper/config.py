"""The crawl's settings: one frozen dataclass, filled from the command line (see cli.py)."""

import os
import re
from dataclasses import dataclass

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/pymastery_examples"
DEFAULT_USER_AGENT = "pymastery-scraper/1.0 (+https://pymastery.test/bot)"
PREFIX_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,39}")


def dsn_from_environment() -> str:
    """PYMASTERY_POSTGRES_URL without its SQLAlchemy driver part (asyncpg wants postgresql://)."""
    url = os.environ.get("PYMASTERY_POSTGRES_URL")
    if not url:
        return DEFAULT_DSN
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"


@dataclass(frozen=True)
class CrawlConfig:
    seeds: tuple[str, ...]
    dsn: str = DEFAULT_DSN
    table_prefix: str = "cap2_"
    user_agent: str = DEFAULT_USER_AGENT
    per_host_concurrency: int = 4
    per_host_rate: float = 10.0  # requests per second per host; 0 means no limit
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_max: float = 30.0
    request_timeout: float = 10.0
    max_redirects: int = 5
    drain_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("at least one seed URL is needed")
        if not PREFIX_PATTERN.fullmatch(self.table_prefix):
            raise ValueError(
                f"table prefix {self.table_prefix!r} must match {PREFIX_PATTERN.pattern}: it "
                "becomes part of SQL identifiers"
            )
        if self.per_host_concurrency < 1 or self.max_attempts < 1:
            raise ValueError("per-host concurrency and max attempts are at least 1")
        if self.per_host_rate < 0 or self.max_redirects < 0:
            raise ValueError("the rate and the redirect cap cannot be negative")
        if min(self.backoff_base, self.backoff_max, self.request_timeout) <= 0:
            raise ValueError("backoff and timeout durations must be positive")
        if self.drain_timeout < 0:
            raise ValueError("the drain timeout cannot be negative")
