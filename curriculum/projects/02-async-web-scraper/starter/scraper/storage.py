"""PostgreSQL storage through asyncpg: the frontier, the pages and the failures.

Three tables share a prefix (default `cap2_`): `{prefix}frontier` is every URL the crawl has
discovered and its state, `{prefix}pages` every response stored (200s and redirects), and
`{prefix}failures` every URL given up on. A batch of results is written in one transaction:
the links a page revealed enter the frontier together with the page itself, so a crawl that
stops after any commit can resume from the tables alone.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrontierEntry:
    url: str
    redirects: int = 0  # how many redirects were followed to reach this URL


@dataclass(frozen=True)
class PageRow:
    url: str
    status: int
    location: str | None
    content_type: str | None
    title: str | None
    body_sha256: str | None


@dataclass(frozen=True)
class FailureRow:
    url: str
    reason: str
    status: int | None
    attempts: int
    detail: str


@dataclass(frozen=True)
class Result:
    """What processing one frontier URL produced, written in one go."""

    url: str
    state: str  # done | failed | blocked
    page: PageRow | None = None
    failure: FailureRow | None = None
    discovered: tuple[FrontierEntry, ...] = ()


SCHEMA = """
CREATE TABLE IF NOT EXISTS {frontier} (
    url text PRIMARY KEY,
    state text NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'done', 'failed', 'blocked')),
    redirects integer NOT NULL DEFAULT 0,
    discovered_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {pages} (
    url text PRIMARY KEY,
    status integer NOT NULL,
    location text,
    content_type text,
    title text,
    body_sha256 text,
    fetched_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {failures} (
    url text PRIMARY KEY,
    reason text NOT NULL
        CHECK (reason IN ('http_status', 'timeout', 'connection', 'too_many_redirects')),
    status integer,
    attempts integer NOT NULL,
    detail text,
    failed_at timestamptz NOT NULL DEFAULT now()
);
"""


def quoted(name: str) -> str:
    """A table name for SQL text. The prefix was validated (config.PREFIX_PATTERN)."""
    return '"' + name.replace('"', '""') + '"'


class Storage:
    def __init__(self, pool: asyncpg.Pool, prefix: str) -> None:
        self.pool = pool
        self.frontier = quoted(f"{prefix}frontier")
        self.pages = quoted(f"{prefix}pages")
        self.failures = quoted(f"{prefix}failures")

    @classmethod
    async def connect(cls, dsn: str, prefix: str) -> "Storage":
        """A Storage over a small asyncpg pool (asyncpg.create_pool)."""
        raise NotImplementedError("TODO: Storage.connect")

    async def close(self) -> None:
        raise NotImplementedError("TODO: Storage.close")

    async def create_tables(self) -> None:
        """SCHEMA, with the three table names filled in (several statements: execute() with
        no arguments runs them all)."""
        raise NotImplementedError("TODO: Storage.create_tables")

    async def add_seeds(self, urls: Sequence[str]) -> None:
        """Insert the seeds as pending, leaving any URL already known as it is."""
        raise NotImplementedError("TODO: Storage.add_seeds")

    async def load_frontier(self) -> tuple[list[FrontierEntry], set[str]]:
        """The URLs still pending, and every URL the crawl has ever discovered."""
        raise NotImplementedError("TODO: Storage.load_frontier")

    async def save(self, results: Sequence[Result]) -> None:
        """Write a batch of results in one transaction.

        In order: the discovered URLs into the frontier (ON CONFLICT DO NOTHING), the page
        rows, the failure rows, then each result's state in the frontier. One statement per
        table, not one per row: pass whole columns as arrays and turn them back into rows
        with unnest, e.g. INSERT ... SELECT * FROM unnest($1::text[], $2::integer[]).
        """
        raise NotImplementedError("TODO: Storage.save")
