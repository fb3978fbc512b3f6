"""Search latency over the full catalog (goal: p99 under 20 ms), in-process and through the CLI.

Run: .venv/bin/python benchmarks/search_latency.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pymastery.core.locations import default_root
from pymastery.core.search import open_index

QUERIES = [
    "n+1 queries",
    "connection pool size",
    "alembic downgrade",
    "selectinload",
    "jsonb index",
    "transaction isolation",
    "async sqlalchemy",
    "celery retry backoff",
    "fastapi dependency",
    "pytest fixtures",
    "redis cache invalidation",
    "window functions",
    "explain analyze",
    "zero downtime migration",
    "rate limiting",
    "docker healthcheck",
    "sql injection",
    "asyncio taskgroup cancellation",
    "django queryset",
    "profiling memory",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        started = time.perf_counter()
        index = open_index(default_root(), Path(cache))
        build = time.perf_counter() - started
        seconds = []
        for _ in range(50):
            for query in QUERIES:
                began = time.perf_counter()
                index.search(query)
                seconds.append(time.perf_counter() - began)
        seconds.sort()
        cli = []
        for query in QUERIES[:5]:
            began = time.perf_counter()
            subprocess.run(
                [str(Path(sys.executable).with_name("pymastery")), "search", query, "--json"],
                capture_output=True,
                check=True,
                env={"PYMASTERY_CACHE_DIR": cache, "PATH": ""},
            )
            cli.append(time.perf_counter() - began)
    print(f"index build (whole catalog): {build * 1000:.0f} ms")
    print(
        f"in-process, {len(seconds)} queries: p50 {statistics.median(seconds) * 1000:.2f} ms, "
        f"p99 {seconds[int(len(seconds) * 0.99)] * 1000:.2f} ms (goal p99 < 20 ms)"
    )
    print(
        f"`pymastery search --json` wall, index cached: median "
        f"{statistics.median(cli) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
