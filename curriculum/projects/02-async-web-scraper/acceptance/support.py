"""Running the scraper as a process, and reading what it stored.

The suite treats your scraper as a program: it starts `python -m scraper crawl ...` with the
options the specification lists, talks to it only through signals, and reads the results from
PostgreSQL with its own connection (psycopg), never through your code.
"""

import contextlib
import importlib.util
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from localsite import Hit
from psycopg import sql

URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = "postgresql://" + URL.split("://", 1)[1]  # what asyncpg (and psycopg) accept
# Every table the suite has a scraper create starts with PREFIX, then this run's token, then
# the crawl's name (cap2_suite_1a2b3c4d_catalogue_pages, ...), so that two runs of the suite
# against one database (two learners, or a check beside a verify) never touch each other's
# tables. A run holds an advisory lock on its token while it lasts (RunTables); tables whose
# token nobody holds were left by a run that was killed, and the next run drops them.
PREFIX = "cap2_suite_"
LOCK_CLASS = 0x63617032  # "cap2": the first key of the suite's advisory locks
TOKEN = f"{secrets.randbits(31):08x}"  # this run's; the second key of its lock
OWN_PREFIX = f"{PREFIX}{TOKEN}_"
TOKEN_PATTERN = re.compile(rf"{PREFIX}([0-9a-f]{{8}})_")


def table_prefix(name: str) -> str:
    return f"{OWN_PREFIX}{name}_"


class RunTables:
    """This run's claim on its tables: a session advisory lock, held until close() or until
    the process dies (PostgreSQL releases it with the connection, however the run ends)."""

    def __init__(self) -> None:
        self._connection = psycopg.connect(DSN, autocommit=True)
        self._connection.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, int(TOKEN, 16)))

    def close(self) -> None:
        drop_tables(OWN_PREFIX)
        self._connection.close()


def drop_tables(prefix: str) -> None:
    """Drop every table whose name starts with prefix."""
    with psycopg.connect(DSN, autocommit=True) as connection:
        for name in table_names(connection, prefix):
            connection.execute(
                sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(name))
            )


def drop_abandoned_tables() -> None:
    """Drop the suite's tables whose run is over (nobody holds its token's lock)."""
    with psycopg.connect(DSN, autocommit=True) as connection:
        tokens = {
            match.group(1)
            for name in table_names(connection, PREFIX)
            if (match := TOKEN_PATTERN.match(name)) and match.group(1) != TOKEN
        }
    for token in sorted(tokens):
        with psycopg.connect(DSN, autocommit=True) as connection:
            taken = connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, int(token, 16))
            ).fetchone()
            if taken and taken[0]:  # nobody else holds it: that run is gone
                drop_tables(f"{PREFIX}{token}_")


def table_names(connection: psycopg.Connection[Any], prefix: str) -> list[str]:
    rows = connection.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        " AND starts_with(tablename, %s)",
        (prefix,),
    ).fetchall()
    return [str(name) for (name,) in rows]


@dataclass(frozen=True)
class StoredPage:
    url: str
    status: int
    location: str | None
    content_type: str | None
    title: str | None
    body_sha256: str | None


@dataclass(frozen=True)
class StoredFailure:
    url: str
    reason: str
    status: int | None
    attempts: int


def read_pages(prefix: str) -> dict[str, StoredPage]:
    rows = select(
        prefix,
        "pages",
        "SELECT url, status, location, content_type, title, body_sha256 FROM {}",
    )
    return {row[0]: StoredPage(*row) for row in rows}


def read_failures(prefix: str) -> dict[str, StoredFailure]:
    rows = select(prefix, "failures", "SELECT url, reason, status, attempts FROM {}")
    return {row[0]: StoredFailure(*row) for row in rows}


def select(prefix: str, table: str, query: str) -> list[tuple[Any, ...]]:
    name = f"{prefix}{table}"
    with psycopg.connect(DSN, autocommit=True) as connection:
        exists = connection.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        if not exists or not exists[0]:
            return []
        try:
            return connection.execute(sql.SQL(query).format(sql.Identifier(name))).fetchall()
        except psycopg.errors.UndefinedColumn as error:
            raise AssertionError(
                f"table {name} lacks a column the specification requires: {error}"
            ) from error


@dataclass
class Run:
    """One finished (or abandoned) scraper process."""

    command: list[str]
    returncode: int | None  # None: it did not finish in time and was killed
    started: float  # time.monotonic()
    ended: float
    log: Path  # stdout and stderr, merged

    def output_tail(self, lines: int = 12) -> str:
        """The last lines the scraper printed (a traceback ends with what matters)."""
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no output)"
        tail = [line[:300] for line in text.strip().splitlines()[-lines:]]
        return "\n".join(tail) or "(no output)"

    def explain(self) -> str:
        shown = shlex.join(["python", *self.command[1:]])
        return f"\n  command: {shown}\n  output (last lines):\n{self.output_tail()}"

    def require_success(self) -> None:
        if self.returncode is None:
            raise AssertionError(
                f"the scraper did not finish in time and was killed{self.explain()}"
            )
        if self.returncode != 0:
            raise AssertionError(
                f"the scraper exited with code {self.returncode}; a finished crawl exits 0"
                f"{self.explain()}"
            )

    def covers(self, hit: Hit) -> bool:
        return self.started <= hit.start <= self.ended


def scraper_command(seeds: Iterable[str], prefix: str, **options: object) -> list[str]:
    command = [sys.executable, "-m", "scraper", "crawl", *seeds, "--dsn", DSN]
    command += ["--table-prefix", prefix]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    return command


class Scraper:
    """A scraper process started in a session of its own, like a job started from a shell."""

    def __init__(self, command: list[str], workdir: Path, label: str) -> None:
        self.command = command
        self.log = workdir / f"{label}.log"
        environment = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=project_path())
        with self.log.open("wb") as log:
            self.started = time.monotonic()
            self.process = subprocess.Popen(
                command,
                cwd=workdir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def running(self) -> bool:
        return self.process.poll() is None

    def interrupt_group(self) -> float:
        """SIGINT to the whole process group, as Ctrl-C in a terminal does; returns when."""
        sent = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        return sent

    def terminate(self) -> float:
        """SIGTERM to the scraper's own process, as `kill PID` or a container runtime does."""
        sent = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        return sent

    def wait(self, timeout: float) -> Run:
        try:
            returncode: int | None = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
            self.kill()
        ended = time.monotonic()
        return Run(self.command, returncode, self.started, ended, self.log)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


def project_path() -> str:
    """PYTHONPATH for the scraper process: the folder your `scraper` package is imported from
    here (so that plain `pytest acceptance` works too), then whatever was set already."""
    found = importlib.util.find_spec("scraper")
    folders = []
    if found is not None and found.origin is not None:
        folders.append(str(Path(found.origin).resolve().parent.parent))
    if os.environ.get("PYTHONPATH"):
        folders.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(folders)


def run_scraper(command: list[str], workdir: Path, label: str, timeout: float) -> Run:
    return Scraper(command, workdir, label).wait(timeout)


def listed(items: Iterable[object], limit: int = 8) -> str:
    """A short, readable list for an assertion message."""
    shown = sorted(str(item) for item in items)
    more = f" … and {len(shown) - limit} more" if len(shown) > limit else ""
    return "\n    " + "\n    ".join(shown[:limit]) + more
