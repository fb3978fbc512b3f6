"""Cohort accounts through the test client, on PostgreSQL: sign-up, sign-in, reset, lockout."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.test import Client

from pymastery.web.accounts.models import Cohort, Membership
from pymastery.web.progress.models import ExerciseAttempt, Submission
from tests.cohort.conftest import PASSWORD, People

pytestmark = [pytest.mark.django_db, pytest.mark.services]


def sign_in(client: Client, username: str, password: str) -> int:
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code


def test_every_page_asks_an_anonymous_visitor_to_sign_in(client: Client) -> None:
    for url in ["/", "/sections/5.1/", "/progress/", "/review/", "/search/?q=session"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/?next="), url


def test_the_sign_in_page_and_the_stylesheets_are_open_to_all(client: Client) -> None:
    assert client.get("/accounts/login/").status_code == 200
    assert client.get("/accounts/sign-up/").status_code == 200
    assert client.get("/highlight.css").status_code == 200
    stylesheet = client.get("/static/pymastery.css")
    stylesheet.close()  # WhiteNoise streams the file
    assert stylesheet.status_code == 200


def test_sign_up_with_a_cohort_code_creates_a_learner_in_that_cohort(
    client: Client, people: People
) -> None:
    response = client.post(
        "/accounts/sign-up/",
        {
            "username": "frank",
            "email": "Frank@Example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "join_code": people.spring.join_code,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    frank = User.objects.get(username="frank")
    assert frank.email == "frank@example.com"
    assert Membership.objects.get(user=frank).cohort == people.spring
    assert Membership.objects.get(user=frank).role == Membership.Role.LEARNER
    assert client.get("/").status_code == 200, "sign-up signs the new learner in"


def test_passwords_are_hashed_with_argon2id_at_the_tuned_cost(people: People) -> None:
    algorithm, variant, _, parameters, *_ = people.alice.password.split("$")
    assert (algorithm, variant) == ("argon2", "argon2id")
    assert parameters == "m=19456,t=2,p=1", "OWASP's minimum, tens of ms instead of ~1 s"


def test_a_wrong_cohort_code_is_refused_and_creates_nothing(client: Client, people: People) -> None:
    response = client.post(
        "/accounts/sign-up/",
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "join_code": "not-a-code",
        },
    )
    assert response.status_code == 200
    assert "No cohort has this code" in response.content.decode()
    assert not User.objects.filter(username="grace").exists()


def test_an_email_can_belong_to_one_account_only(client: Client, people: People) -> None:
    response = client.post(
        "/accounts/sign-up/",
        {
            "username": "alice2",
            "email": "ALICE@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert "An account with this email exists" in response.content.decode()


def test_sign_in_and_sign_out(client: Client, people: People) -> None:
    assert sign_in(client, "alice", PASSWORD) == 302
    assert client.get("/progress/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405, "signing out is a POST only"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/progress/").status_code == 302


def test_a_password_reset_email_leads_to_a_new_password(client: Client, people: People) -> None:
    response = client.post("/accounts/password_reset/", {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    body = str(mail.outbox[0].body)
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", body)
    assert link is not None, body
    form = client.get(link.group(1), follow=True)
    assert "Choose a new password" in form.content.decode()
    new_password = "a different long passphrase 7"
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )
    assert done.status_code == 302
    assert sign_in(Client(), "alice", new_password) == 302
    assert sign_in(Client(), "alice", PASSWORD) == 200, "the old password no longer works"


def test_an_unknown_email_gets_the_same_answer_and_no_mail(client: Client, people: People) -> None:
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_five_wrong_passwords_lock_the_account_out_from_that_address(
    client: Client, people: People
) -> None:
    for _ in range(4):
        assert sign_in(client, "alice", "wrong password") == 200
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert sign_in(client, "alice", PASSWORD) == 429, "even the right password waits out the lock"
    assert sign_in(Client(), "bob", PASSWORD) == 302, "other accounts are not affected"


def test_every_form_needs_its_csrf_token(people: People) -> None:
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/accounts/login/", {"username": "alice"}).status_code == 403
    assert strict.post("/accounts/sign-up/", {"username": "x"}).status_code == 403
    strict.force_login(people.alice)
    assert strict.post("/sections/5.1/quiz/0/answer", {"option": "0"}).status_code == 403
    assert strict.post("/sections/5.1/exercise/hint").status_code == 403


def test_pages_carry_a_strict_content_security_policy(client: Client, people: People) -> None:
    client.force_login(people.alice)
    policy = client.get("/sections/5.1/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy


def test_check_never_runs_learner_code_in_the_web_process(client: Client, people: People) -> None:
    client.force_login(people.alice)
    marker = Path(tempfile.gettempdir()) / f"pymastery-cohort-ran-{os.getpid()}"
    source = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    response = client.post("/sections/5.1/exercise/check", {"source": source})
    assert "Queued for grading" in response.content.decode()
    assert not marker.exists(), "the code waits for a grading worker; the web process never runs it"
    assert not ExerciseAttempt.objects.exists()
    assert Submission.objects.get(learner=people.alice).state == Submission.State.QUEUED
    broker = redis.Redis.from_url(settings.PYMASTERY_GRADING_BROKER)
    broker.delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    broker.close()


def test_examples_do_not_run_on_a_cohort_server(client: Client, people: People) -> None:
    client.force_login(people.alice)
    response = client.post("/sections/5.1/examples/dbapi_cursor_lifecycle.py/run")
    assert "available in single-user mode" in response.content.decode()
    assert "Output matches" not in response.content.decode()


def test_cohorts_get_a_join_code_each(people: People) -> None:
    codes = set(Cohort.objects.values_list("join_code", flat=True))
    assert len(codes) == 2 and all(len(code) >= 12 for code in codes)
