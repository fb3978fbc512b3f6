"""Cohort grading throughput: queue N submissions to W Celery workers, time each verdict.

Starts its own workers against the local Redis and a scratch PostgreSQL database, submits the
section's reference solution N times, and prints throughput and p50/p95 time-to-result (from the
moment a submission is stored to the moment its verdict is recorded). Run as root: workers grade
in the sandbox unless --no-sandbox.

Run: .venv/bin/python benchmarks/grading_throughput.py [--submissions 200] [--workers 2]
     [--section 6.6] [--no-sandbox]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATABASE = "pymastery_bench_grading"
CELERY = str(Path(sys.executable).with_name("celery"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--section", default="6.6")
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()

    os.environ.update(
        PYMASTERY_MODE="cohort",
        PYMASTERY_DATA_DIR=tempfile.mkdtemp(prefix="pymastery-bench-"),
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        PYMASTERY_GRADING_BROKER=os.environ.get(
            "PYMASTERY_GRADING_BROKER", "redis://127.0.0.1:6379/5"
        ),
        PYMASTERY_GRADING_QUEUE=f"grading-bench-{os.getpid()}",
        PYMASTERY_GRADING_SANDBOX="0" if args.no_sandbox else "1",
        DJANGO_SETTINGS_MODULE="pymastery.web.settings",
    )
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DATABASE], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DATABASE], check=True)

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from pymastery.web.learn.catalog import catalog
    from pymastery.web.progress import grading_queue
    from pymastery.web.progress.models import Submission

    call_command("migrate", verbosity=0)
    section = catalog().section(args.section)
    if section is None or section.content is None:
        raise SystemExit(f"section {args.section} has no exercise")
    source = section.content.exercise.solution.read_text(encoding="utf-8")
    learner = User.objects.create_user("bench")

    command = [CELERY, "-A", "pymastery.workers", "worker", "--concurrency", "1"]
    quiet = ["--without-gossip", "--without-mingle", "--loglevel", "WARNING"]
    workers = [
        subprocess.Popen(
            [*command, "--hostname", f"bench{number}@%h", *quiet], start_new_session=True
        )
        for number in range(args.workers)
    ]
    try:
        time.sleep(3)  # let the workers connect before the clock starts
        started = time.perf_counter()
        for _ in range(args.submissions):
            grading_queue.submit(learner, args.section, source)
        while Submission.objects.exclude(state=Submission.State.DONE).exists():
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            worker.wait()

    done = Submission.objects.select_related("attempt")
    waits = sorted((s.finished_at - s.created_at).total_seconds() for s in done if s.finished_at)
    verdicts = dict.fromkeys(("pass", "fail", "error"), 0)
    for submission in done:
        if submission.attempt is not None:
            verdicts[submission.attempt.status] += 1
    mode = "without sandbox" if args.no_sandbox else "in the sandbox"
    print(f"{args.submissions} submissions of {args.section}, {args.workers} workers, {mode}")
    print(f"throughput: {args.submissions / elapsed:.1f} submissions/s ({elapsed:.1f} s in all)")
    print(f"time to result: p50 {statistics.median(waits):.2f} s, "
          f"p95 {waits[int(len(waits) * 0.95) - 1]:.2f} s")  # fmt: skip
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in verdicts.items()))


if __name__ == "__main__":
    main()
