"""Cohort grading through real Celery workers on the real Redis broker and PostgreSQL.

A submission is queued after its transaction commits, graded by a worker, and its verdict recorded
once; a worker killed in the middle of grading loses nothing, and nothing gets two verdicts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client, override_settings

from pymastery.core.grading import GradeResult
from pymastery.core.sandbox import supervisor
from pymastery.web.learn.catalog import catalog
from pymastery.web.progress import grading_queue
from pymastery.web.progress.models import ExerciseAttempt, Submission

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.services]

CELERY = str(Path(sys.executable).with_name("celery"))
KEY = "5.1"
SANDBOXED_KEY = "6.6"  # no services, so the sandbox (which has no network) can grade it


def worker_environment(redelivery: int, lease: int, sandbox: bool = False) -> dict[str, str]:
    database = connection.settings_dict
    env = dict(os.environ)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DJANGO_SETTINGS_MODULE="pymastery.web.settings",
        DATABASE_URL=f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        PYMASTERY_GRADING_SANDBOX="1" if sandbox else "0",
        PYMASTERY_GRADING_REDELIVERY_SECONDS=str(redelivery),
        PYMASTERY_GRADING_LEASE=str(lease),
    )
    return env


@pytest.fixture
def start_worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(
        name: str,
        redelivery: int = 120,
        lease: int = 90,
        sandbox: bool = False,
        beat: bool = False,
    ) -> subprocess.Popen[bytes]:
        beat_options = ["--beat", "--schedule", str(tmp_path / f"{name}.beat")] if beat else []
        with (tmp_path / f"{name}.log").open("wb") as log:
            return launch(name, worker_environment(redelivery, lease, sandbox), log, beat_options)

    def launch(
        name: str, env: dict[str, str], log: IO[bytes], options: list[str]
    ) -> subprocess.Popen[bytes]:
        worker = subprocess.Popen(
            [CELERY, "-A", "pymastery.workers", "worker", "--concurrency", "1",
             "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle",
             "--loglevel", "INFO", *options],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


@pytest.fixture(autouse=True)
def empty_queue() -> Iterator[None]:
    import redis

    broker = redis.Redis.from_url(settings.PYMASTERY_GRADING_BROKER)
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    broker.delete(queue, "unacked", "unacked_index")
    yield
    broker.delete(queue, "unacked", "unacked_index")
    broker.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting until {what}")


def state(submission: Submission) -> str:
    submission.refresh_from_db()
    return submission.state


def graded(submission: Submission) -> bool:
    return state(submission) == "done"


def solution(key: str = KEY) -> str:
    section = catalog().section(key)
    assert section is not None and section.content is not None
    return section.content.exercise.solution.read_text(encoding="utf-8")


def test_check_queues_the_submission_and_the_page_shows_its_verdict(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    start_worker("grader")
    learner = User.objects.create_user("ada")
    client = Client()
    client.force_login(learner)
    response = client.post(f"/sections/{KEY}/exercise/check", {"source": solution()})
    assert "Queued for grading" in response.content.decode()
    submission = Submission.objects.get(learner=learner)
    wait_for(lambda: state(submission) == "done", 90, "a worker has graded it")
    page = client.get(f"/submissions/{submission.pk}/").content.decode()
    assert "Well done" in page, page
    other = Client()
    other.force_login(User.objects.create_user("eve"))
    assert other.get(f"/submissions/{submission.pk}/").status_code == 404


def test_check_on_a_cohort_server_grades_in_the_sandbox(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    """The whole path as in production: web -> Redis -> worker -> the grading sandbox -> page."""
    reason = supervisor.unavailable_reason()
    if reason is not None and not os.environ.get("CI"):  # CI runs as root: there it must run
        pytest.skip(f"no grading sandbox here: {reason}")
    start_worker("sandboxed", sandbox=True)
    learner = User.objects.create_user("margaret")
    client = Client()
    client.force_login(learner)
    section = catalog().section(SANDBOXED_KEY)
    assert section is not None and section.content is not None
    starter = section.content.exercise.starter.read_text(encoding="utf-8")
    for source, expected in [(starter, "tests pass"), (solution(SANDBOXED_KEY), "Well done")]:
        client.post(f"/sections/{SANDBOXED_KEY}/exercise/check", {"source": source})
        submission = Submission.objects.filter(learner=learner).latest("created_at")
        wait_for(partial(graded, submission), 120, "the sandboxed grade is in")
        page = client.get(f"/submissions/{submission.pk}/").content.decode()
        assert expected in page, page
    verdicts = list(ExerciseAttempt.objects.order_by("created_at").values_list("status", flat=True))
    assert verdicts == ["fail", "pass"]


def test_a_worker_killed_mid_grading_loses_nothing_and_grades_nothing_twice(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    learner = User.objects.create_user("grace")
    slow = "import time\ntime.sleep(6)\n" + solution()
    submission = grading_queue.submit(learner, KEY, slow)
    first = start_worker("doomed", redelivery=4, lease=4)
    wait_for(lambda: state(submission) == "running", 60, "the first worker has claimed it")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool child, mid-grading
    first.wait()
    assert state(submission) == "running" and not ExerciseAttempt.objects.exists()

    start_worker("rescuer", redelivery=4, lease=4)
    wait_for(lambda: state(submission) == "done", 120, "the message came back and was graded")
    submission.refresh_from_db()
    assert submission.claims == 2, "graded by the second worker after the first claim expired"
    assert ExerciseAttempt.objects.count() == 1, "exactly one verdict"
    assert submission.attempt is not None and submission.attempt.status == "pass"


def test_a_finished_submission_is_never_graded_again() -> None:
    learner = User.objects.create_user("linus")
    submission = Submission.objects.create(learner=learner, section=KEY, source=solution())
    claim = grading_queue.claim(submission.pk, "worker-a")
    assert claim is not None
    assert grading_queue.claim(submission.pk, "worker-b") is None, "a fresh claim is exclusive"
    result = GradeResult(status="pass", tests=[])
    assert grading_queue.finish(claim, result)
    assert grading_queue.claim(submission.pk, "worker-c") is None
    assert grading_queue.lease_left(submission.pk) is None
    assert not grading_queue.finish(claim, result), "a second finish records nothing"
    assert ExerciseAttempt.objects.count() == 1


def test_an_overtaken_claim_cannot_record_its_verdict() -> None:
    learner = User.objects.create_user("barbara")
    submission = Submission.objects.create(learner=learner, section=KEY, source=solution())
    with override_settings(PYMASTERY_GRADING_LEASE=0):
        slow = grading_queue.claim(submission.pk, "slow-worker")
        time.sleep(0.01)
        fast = grading_queue.claim(submission.pk, "fast-worker")
    assert slow is not None and fast is not None
    result = GradeResult(status="fail", tests=[])
    assert grading_queue.finish(fast, result)
    assert not grading_queue.finish(slow, result), "the overtaken worker's verdict is dropped"
    assert ExerciseAttempt.objects.count() == 1


def test_without_a_broker_check_explains_instead_of_running_code() -> None:
    learner = User.objects.create_user("ken")
    client = Client()
    client.force_login(learner)
    with override_settings(PYMASTERY_GRADING_BROKER=""):
        response = client.post(f"/sections/{KEY}/exercise/check", {"source": "x = 1\n"})
    assert "Checking is not available on this server yet" in response.content.decode()
    assert not Submission.objects.exists()


def test_a_submission_the_broker_lost_is_sent_again_while_the_learner_waits(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    import redis

    learner = User.objects.create_user("annie")
    client = Client()
    client.force_login(learner)
    with override_settings(PYMASTERY_GRADING_LEASE=1):
        client.post(f"/sections/{KEY}/exercise/check", {"source": solution()})
        broker = redis.Redis.from_url(settings.PYMASTERY_GRADING_BROKER)
        broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # Redis restarted: the message is gone
        broker.close()
        submission = Submission.objects.get(learner=learner)
        start_worker("after-the-restart")
        time.sleep(1.5)
        page = client.get(f"/submissions/{submission.pk}/").content.decode()
        assert "Queued for grading" in page, "the poll finds it still queued and sends it again"
        wait_for(lambda: state(submission) == "done", 90, "the re-sent task was graded")
    assert ExerciseAttempt.objects.filter(learner=learner).count() == 1


def test_beat_sends_a_lost_submission_again_with_nobody_watching(
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    import redis

    learner = User.objects.create_user("brook")
    client = Client()
    client.force_login(learner)
    client.post(f"/sections/{KEY}/exercise/check", {"source": solution()})
    broker = redis.Redis.from_url(settings.PYMASTERY_GRADING_BROKER)
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)  # the message is gone; no page polls
    broker.close()
    submission = Submission.objects.get(learner=learner)
    start_worker("with-beat", lease=1, beat=True)
    wait_for(lambda: state(submission) == "done", 90, "beat's sweep re-sent it and it was graded")
    submission.refresh_from_db()
    assert submission.sent_at > submission.created_at, "graded because the sweep sent it again"
    assert ExerciseAttempt.objects.filter(learner=learner).count() == 1
