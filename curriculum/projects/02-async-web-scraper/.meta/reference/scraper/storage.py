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
        # Two connections: the writer's, and one for the odd read. statement_cache_size
        # stays at its default: the same few statements run thousands of times.
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2, command_timeout=60)
        return cls(pool, prefix)

    async def close(self) -> None:
        await self.pool.close()

    async def create_tables(self) -> None:
        ddl = SCHEMA.format(frontier=self.frontier, pages=self.pages, failures=self.failures)
        async with self.pool.acquire() as connection:
            await connection.execute(ddl)

    async def add_seeds(self, urls: Sequence[str]) -> None:
        async with self.pool.acquire() as connection:
            await connection.execute(
                f"INSERT INTO {self.frontier} (url) SELECT unnest($1::text[])"
                " ON CONFLICT (url) DO NOTHING",
                list(urls),
            )

    async def load_frontier(self) -> tuple[list[FrontierEntry], set[str]]:
        """The URLs still pending, and every URL the crawl has ever discovered."""
        async with self.pool.acquire() as connection:
            rows = await connection.fetch(f"SELECT url, state, redirects FROM {self.frontier}")
        pending = [
            FrontierEntry(row["url"], row["redirects"]) for row in rows if row["state"] == "pending"
        ]
        return pending, {row["url"] for row in rows}

    async def save(self, results: Sequence[Result]) -> None:
        """Write a batch of results in one transaction, in four statements."""
        discovered = [entry for result in results for entry in result.discovered]
        pages = [result.page for result in results if result.page is not None]
        failures = [result.failure for result in results if result.failure is not None]
        async with self.pool.acquire() as connection, connection.transaction():
            if discovered:
                await connection.execute(
                    f"INSERT INTO {self.frontier} (url, redirects)"
                    " SELECT * FROM unnest($1::text[], $2::integer[])"
                    " ON CONFLICT (url) DO NOTHING",
                    [entry.url for entry in discovered],
                    [entry.redirects for entry in discovered],
                )
            if pages:
                await connection.execute(
                    f"INSERT INTO {self.pages}"
                    " (url, status, location, content_type, title, body_sha256)"
                    " SELECT * FROM unnest($1::text[], $2::integer[], $3::text[], $4::text[],"
                    " $5::text[], $6::text[]) ON CONFLICT (url) DO NOTHING",
                    [page.url for page in pages],
                    [page.status for page in pages],
                    [page.location for page in pages],
                    [page.content_type for page in pages],
                    [page.title for page in pages],
                    [page.body_sha256 for page in pages],
                )
            if failures:
                await connection.execute(
                    f"INSERT INTO {self.failures} (url, reason, status, attempts, detail)"
                    " SELECT * FROM unnest($1::text[], $2::text[], $3::integer[],"
                    " $4::integer[], $5::text[])"
                    " ON CONFLICT (url) DO UPDATE SET reason = excluded.reason,"
                    " status = excluded.status, attempts = excluded.attempts,"
                    " detail = excluded.detail, failed_at = now()",
                    [failure.url for failure in failures],
                    [failure.reason for failure in failures],
                    [failure.status for failure in failures],
                    [failure.attempts for failure in failures],
                    [failure.detail for failure in failures],
                )
            await connection.execute(
                f"UPDATE {self.frontier} AS f SET state = v.state"
                " FROM unnest($1::text[], $2::text[]) AS v (url, state) WHERE f.url = v.url",
                [result.url for result in results],
                [result.state for result in results],
            )
