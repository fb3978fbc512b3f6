"""Running docpipe as a deployment, and reading what it stored.

The suite starts your system the way an operator would: `python -m docpipe.api` and several
`celery -A docpipe.worker worker` processes, each in a process group of its own so that one
SIGKILL takes a worker's pool processes with it, exactly as a crashed container does. It talks
to the API over HTTP, and reads PostgreSQL, RabbitMQ and Redis with its own clients, never
through your code.

Every run gets a namespace of its own (cap3_ and a random token): your tables, queues and
result keys carry it, so two runs against the same services (two learners, or a check beside a
verify) never see each other's work. The run holds a PostgreSQL advisory lock on its token while
it lasts; a later run removes what a killed run left behind.
"""

import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import redis
from kombu import Connection
from psycopg import sql

POSTGRES_URL = os.environ.get(
    "PYMASTERY_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pymastery_examples"
)
DSN = "postgresql://" + POSTGRES_URL.split("://", 1)[1]  # psycopg's spelling
RABBITMQ_URL = os.environ.get("PYMASTERY_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("PYMASTERY_REDIS_URL", "redis://127.0.0.1:6379/0")

PREFIX = "cap3_"
LOCK_CLASS = 0x63617033  # "cap3": the first key of the suite's advisory locks
TOKEN = f"{secrets.randbits(31):08x}"
NAMESPACE = f"{PREFIX}{TOKEN}"
TOKEN_PATTERN = re.compile(rf"{PREFIX}([0-9a-f]{{8}})_")

BACKOFF = 0.4
MAX_RETRIES = 3
RETENTION = 3600
CLEANUP_EVERY = 900
SETTINGS = {
    "DOCPIPE_NAMESPACE": NAMESPACE,
    "DOCPIPE_BROKER_URL": RABBITMQ_URL,
    "DOCPIPE_RESULT_BACKEND": REDIS_URL,
    "DOCPIPE_DATABASE_URL": POSTGRES_URL,
    "DOCPIPE_RETRY_BACKOFF": str(BACKOFF),
    "DOCPIPE_RETRY_BACKOFF_MAX": "30",
    "DOCPIPE_MAX_RETRIES": str(MAX_RETRIES),
    "DOCPIPE_JOB_RETENTION": str(RETENTION),
    "DOCPIPE_CLEANUP_EVERY": str(CLEANUP_EVERY),
}
# Set before the test modules import docpipe, and inherited by every process the suite starts.
os.environ.update(SETTINGS)

FINISHED = ("succeeded", "failed")
T = TypeVar("T")


# --- waiting ------------------------------------------------------------------------------

# All the waits of one run together get this many seconds. A system that never finishes a job
# would otherwise make every test wait out its own deadline, and the run would outlast the
# project's time limit (240 s) and be stopped without a single test report.
WAIT_BUDGET = 170.0
_RUN_STARTED = time.monotonic()
OUT_OF_TIME = (
    f"\n  (the suite's {WAIT_BUDGET:g} s for all its waits are spent, so this wait was cut "
    "short: earlier waits ran out. Fix the first failure reported above first.)"
)


def time_left(timeout: float) -> float:
    """timeout, or less if the run's wait budget is nearly spent."""
    return max(0.0, min(timeout, WAIT_BUDGET - (time.monotonic() - _RUN_STARTED)))


def wait_until(
    probe: Callable[[], T | None], timeout: float, failure: Callable[[], str], every: float = 0.05
) -> T:
    """Poll probe until it returns something other than None; on timeout, fail with
    failure()'s message. Every wait in the suite has a deadline; none relies on a sleep."""
    allowed = time_left(timeout)
    deadline = time.monotonic() + allowed
    while True:
        value = probe()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(failure() + (OUT_OF_TIME if allowed < timeout else ""))
        time.sleep(every)


# --- PostgreSQL -----------------------------------------------------------------------------

TABLES = {name: f"{NAMESPACE}_{name}" for name in ("jobs", "pages", "attempts", "ledger")}
_connection: psycopg.Connection[Any] | None = None


def database() -> psycopg.Connection[Any]:
    global _connection
    if _connection is None or _connection.closed or _connection.broken:
        _connection = psycopg.connect(DSN, autocommit=True)
    return _connection


def query(text: str, *params: object) -> list[tuple[Any, ...]]:
    """Run SQL whose {jobs}, {pages}, {attempts} and {ledger} name this run's tables."""
    statement = sql.SQL(text).format(**{key: sql.Identifier(name) for key, name in TABLES.items()})
    try:
        cursor = database().execute(statement, params)
    except (psycopg.errors.UndefinedTable, psycopg.errors.UndefinedColumn) as error:
        raise AssertionError(
            f"the database does not have the tables the specification describes: {error}"
            f"(namespace {NAMESPACE}: tables {', '.join(TABLES.values())})"
        ) from error
    return cursor.fetchall() if cursor.description else []


def job_states(job_ids: Iterable[str]) -> dict[str, str]:
    rows = query("SELECT id::text, state FROM {jobs} WHERE id = ANY(%s::uuid[])", list(job_ids))
    return {str(job_id): str(state) for job_id, state in rows}


def attempts_of(job_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every recorded attempt of these jobs' pages, oldest first."""
    rows = query(
        "SELECT job_id::text, page_number, worker, redelivered, started_at, finished_at, outcome"
        " FROM {attempts} WHERE job_id = ANY(%s::uuid[]) ORDER BY started_at, id",
        list(job_ids),
    )
    names = ("job_id", "page", "worker", "redelivered", "started_at", "finished_at", "outcome")
    return [dict(zip(names, row, strict=True)) for row in rows]


def ledger_counts(job_ids: Iterable[str]) -> dict[tuple[str, str, int | None], int]:
    rows = query(
        "SELECT job_id::text, kind, page_number, count(*) FROM {ledger}"
        " WHERE job_id = ANY(%s::uuid[]) GROUP BY 1, 2, 3",
        list(job_ids),
    )
    return {(job_id, kind, page): count for job_id, kind, page, count in rows}


# --- the expected results, computed from the documents the suite submits ----------------------


def page_result(number: int, text: str) -> dict[str, Any]:
    return {
        "page": number,
        "words": len(text.split()),
        "characters": len(text),
        "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(),
    }


def expected_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    results = [page_result(n, page["text"]) for n, page in enumerate(document["pages"], 1)]
    digest = hashlib.sha256("".join(r["sha256"] for r in results).encode("ascii")).hexdigest()
    return {
        "pages": len(results),
        "words": sum(r["words"] for r in results),
        "characters": sum(r["characters"] for r in results),
        "digest": digest,
    }


WORDS = (
    *("invoice", "lease", "tenant", "clause", "payment", "schedule", "annex", "signature"),
    *("landlord", "deposit", "renewal", "termination", "notice", "premises", "insurance"),
    *("liability", "warranty", "audit", "ledger", "quarter"),
)


def document(
    title: str, pages: int, seed: int, priority: int = 0, **page_options: Any
) -> dict[str, Any]:
    """A document of `pages` pages of deterministic text; page_options apply to every page."""
    state = seed
    texts = []
    for number in range(pages):
        words = []
        for _ in range(5 + (seed * 7 + number * 13) % 40):
            state = (state * 1103515245 + 12345) % 2**31
            words.append(WORDS[state % len(WORDS)])
        texts.append(" ".join(words) + ("  ¶" if number % 3 == 2 else ""))
    return {
        "title": title,
        "priority": priority,
        "pages": [{"text": text, **page_options} for text in texts],
    }


# --- processes ------------------------------------------------------------------------------


def project_path() -> str:
    """PYTHONPATH for the processes: the folder `docpipe` is imported from here (so plain
    `pytest acceptance` works too), then whatever was set already."""
    found = importlib.util.find_spec("docpipe")
    folders = []
    if found is not None and found.origin is not None:
        folders.append(str(Path(found.origin).resolve().parent.parent))
    if os.environ.get("PYTHONPATH"):
        folders.append(os.environ["PYTHONPATH"])
    return os.pathsep.join(folders)


if sys.platform == "linux":
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
    PR_SET_PDEATHSIG = 1

    def die_with_the_suite() -> None:
        """Run in the child before exec: the kernel SIGKILLs it if the suite's process dies
        first (a grader stops pytest with SIGKILL at the time limit, and no finally runs)."""
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

else:

    def die_with_the_suite() -> None:
        """Elsewhere the finally blocks of the fixtures are all there is."""


class Process:
    """A child started in a session (and so a process group) of its own."""

    def __init__(self, command: list[str], workdir: Path, label: str) -> None:
        self.command = command
        self.label = label
        self.log = workdir / f"{label}.log"
        environment = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=project_path())
        # Celery switches on its Django integration when this is set (pytest-django sets it).
        environment.pop("DJANGO_SETTINGS_MODULE", None)
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=workdir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_the_suite,
            )

    def running(self) -> bool:
        return self.process.poll() is None

    def output(self) -> str:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def tail(self, lines: int = 15) -> str:
        shown = [line[:300] for line in self.output().strip().splitlines()[-lines:]]
        return "\n".join(f"    {line}" for line in shown) or "    (no output)"

    def explain(self) -> str:
        command = " ".join(["python", *self.command[1:]])
        return f"\n  {self.label}: {command}\n  its last lines of output:\n{self.tail()}"

    def kill(self) -> None:
        """SIGKILL to the whole process group: no handler runs, nothing is acknowledged."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


class ApiServer(Process):
    LISTENING = re.compile(r"listening on (http://[^\s/]+)")

    def __init__(self, workdir: Path) -> None:
        command = [sys.executable, "-m", "docpipe.api", "--host", "127.0.0.1", "--port", "0"]
        super().__init__(command, workdir, "api")
        self.url = ""

    def wait_listening(self, timeout: float) -> None:
        def listening() -> str | None:
            if not self.running():
                raise AssertionError(
                    f"the API server exited with code {self.process.returncode}"
                    f" before it listened{self.explain()}"
                )
            found = self.LISTENING.search(self.output())
            return found.group(1) if found else None

        self.url = wait_until(
            listening,
            timeout,
            lambda: (
                f"the API server did not print 'listening on http://HOST:PORT' within "
                f"{timeout:g} s{self.explain()}"
            ),
        )
        wait_until(
            lambda: True if self.get("/health")[0] == 200 else None,
            timeout,
            lambda: f"GET /health did not answer 200 within {timeout:g} s{self.explain()}",
        )

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            self.url + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=max(1.0, time_left(15))) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except OSError as error:
            raise AssertionError(f"{method} {path} failed: {error}{self.explain()}") from error
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            raise AssertionError(
                f"{method} {path} answered {status} with a body that is not JSON: {raw[:200]!r}"
            ) from None

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post_json(self, path: str, payload: object) -> tuple[int, Any]:
        return self.request("POST", path, json.dumps(payload).encode())

    def submit(self, payload: Mapping[str, Any]) -> str:
        status, body = self.post_json("/jobs", payload)
        assert status == 201 and isinstance(body, dict) and isinstance(body.get("id"), str), (
            f'POST /jobs with a valid document answers 201 and {{"id": ...}}; it answered '
            f"{status} {str(body)[:300]}{self.explain()}"
        )
        return str(body["id"])

    def status(self, job_id: str) -> dict[str, Any]:
        status, body = self.get(f"/jobs/{job_id}")
        assert status == 200 and isinstance(body, dict), (
            f"GET /jobs/{job_id} answers 200 for a job that exists; it answered {status} "
            f"{str(body)[:300]}"
        )
        return body


class Worker(Process):
    def __init__(self, name: str, workdir: Path, concurrency: int) -> None:
        self.hostname = f"{name}@{NAMESPACE}"
        command = [
            *(sys.executable, "-m", "celery", "-A", "docpipe.worker", "worker"),
            *("--pool", "prefork", "--concurrency", str(concurrency)),
            *("--prefetch-multiplier", "1", "--hostname", self.hostname, "--loglevel", "INFO"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        super().__init__(command, workdir, f"worker-{name}")

    def ready(self) -> bool:
        if not self.running():
            raise AssertionError(
                f"worker {self.hostname} exited with code {self.process.returncode}{self.explain()}"
            )
        return f"{self.hostname} ready." in self.output()


class Cluster:
    """The suite's Celery workers. Tests ask for the set they need; workers a test killed or
    stopped are started again by the next test that needs them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.workers: dict[str, Worker] = {}
        self.starts = 0
        self.failed_start = ""  # why workers did not get ready, once they did not

    def ensure(self, names: Sequence[str] = ("w1", "w2", "w3"), concurrency: int = 2) -> None:
        if self.failed_start:  # waiting another 45 s would only repeat the first failure
            raise AssertionError(f"(as in an earlier test) {self.failed_start}")
        for name in list(self.workers):
            if name not in names or not self.workers[name].running():
                self.workers.pop(name).kill()
        for name in names:
            if name not in self.workers:
                self.starts += 1
                self.workers[name] = Worker(f"{name}-{self.starts}", self.workdir, concurrency)
        started = list(self.workers.values())
        try:
            wait_until(
                lambda: True if all(worker.ready() for worker in started) else None,
                45,
                lambda: (
                    "workers did not log 'ready.' within 45 s:"
                    + "".join(worker.explain() for worker in started)
                ),
                every=0.1,
            )
        except AssertionError as error:
            self.failed_start = str(error)
            raise

    def by_hostname(self, hostname: str) -> Worker | None:
        return next((w for w in self.workers.values() if w.hostname == hostname), None)

    def kill(self, hostname: str) -> None:
        """SIGKILL one worker's process group, as a crash or the OOM killer would."""
        for name, worker in list(self.workers.items()):
            if worker.hostname == hostname:
                self.workers.pop(name).kill()

    def stop_all(self) -> None:
        for worker in self.workers.values():
            worker.kill()
        self.workers.clear()

    def explain(self) -> str:
        return "".join(worker.explain() for worker in self.workers.values())

    def wait_for_jobs(
        self, job_ids: Sequence[str], timeout: float, hint: str = ""
    ) -> dict[str, str]:
        """Wait until every job has succeeded or failed; fail with what is still open, and
        the hint (what usually causes it)."""

        def finished() -> dict[str, str] | None:
            states = job_states(job_ids)
            for worker in self.workers.values():
                worker.ready()  # fails at once if a worker died
            done = len(states) == len(job_ids) and all(s in FINISHED for s in states.values())
            return states if done else None

        def stuck() -> str:
            states = job_states(job_ids)
            open_jobs = {
                j: states.get(j, "(no row)") for j in job_ids if states.get(j) not in FINISHED
            }
            listed = "\n    ".join(f"{j}: {s}" for j, s in list(open_jobs.items())[:8])
            return (
                f"{len(open_jobs)} of {len(job_ids)} jobs did not finish within {timeout:g} s:"
                f"\n    {listed}{hint}{self.explain()}"
            )

        return wait_until(finished, timeout, stuck, every=0.1)


# --- this run's namespace, and what killed runs left behind ----------------------------------


class RunClaim:
    """This run's claim on its namespace: a session advisory lock, held until release() or
    until the process dies (PostgreSQL releases it with the connection)."""

    def __init__(self) -> None:
        self._connection = psycopg.connect(DSN, autocommit=True)
        self._connection.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, int(TOKEN, 16)))

    def release(self) -> None:
        remove_namespace(NAMESPACE)
        self._connection.close()


def remove_namespace(namespace: str) -> None:
    """Drop the namespace's tables, delete its queues, exchange and result keys."""
    with psycopg.connect(DSN, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND starts_with(tablename, %s)",
            (f"{namespace}_",),
        ).fetchall()
        for (name,) in rows:
            connection.execute(
                sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(sql.Identifier(name))
            )
    with Connection(RABBITMQ_URL, connect_timeout=5) as broker:
        channel: Any = broker.channel()
        for queue in (f"{namespace}.pages", f"{namespace}.maintenance"):
            channel.queue_delete(queue)
        channel.exchange_delete(namespace)
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{namespace}:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


def remove_abandoned_runs() -> None:
    """Remove the namespaces of earlier runs that are over (nobody holds their lock)."""
    with psycopg.connect(DSN, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            " AND starts_with(tablename, %s)",
            (PREFIX,),
        ).fetchall()
        tokens = {
            match.group(1)
            for (name,) in rows
            if (match := TOKEN_PATTERN.match(name)) and match.group(1) != TOKEN
        }
        for token in sorted(tokens):
            taken = connection.execute(
                "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, int(token, 16))
            ).fetchone()
            if taken and taken[0]:  # nobody else holds it: that run is gone
                remove_namespace(f"{PREFIX}{token}")
                connection.execute(
                    "SELECT pg_advisory_unlock(%s, %s)", (LOCK_CLASS, int(token, 16))
                )


def listed(items: Iterable[object], limit: int = 8) -> str:
    """A short, readable list for an assertion message."""
    shown = [str(item) for item in items]
    more = f"\n    … and {len(shown) - limit} more" if len(shown) > limit else ""
    return "\n    " + "\n    ".join(shown[:limit]) + more
