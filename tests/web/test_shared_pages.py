"""Lesson pages are the same for everyone: served from memory after the first request."""

from __future__ import annotations

import io
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
from django.test import Client

from pymastery.web.shared_pages import SHARED_PAGE, SharedPages
from pymastery.web.wsgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def get(app: SharedPages, path: str, method: str = "GET") -> tuple[str, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "HTTP_HOST": "127.0.0.1",
        "wsgi.input": io.BytesIO(),
    }
    setup_testing_defaults(environ)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def test_a_lesson_is_rendered_once_then_served_from_memory() -> None:
    assert isinstance(application, SharedPages)
    application.pages.clear()
    first = get(application, "/sections/5.1/")
    assert first[0].startswith("200")
    assert "/sections/5.1/" in application.pages
    second = get(application, "/sections/5.1/")
    assert second == first, "the remembered page is byte-for-byte what Django produced"
    assert SHARED_PAGE not in second[1], "the marker header never leaves the server"
    assert "Set-Cookie" not in second[1]
    assert "script-src 'self'" in second[1]["Content-Security-Policy"]
    assert second[1]["X-Frame-Options"] == "DENY"


def test_pages_about_the_learner_are_never_remembered() -> None:
    application.pages.clear()
    for path in ["/", "/progress/", "/sections/5.1/quiz/", "/sections/5.1/exercise/"]:
        status, _, _ = get(application, path)
        assert status.startswith("200"), path
    assert application.pages == {}
    get(application, "/sections/5.1/", method="HEAD")
    get(application, "/sections/99.1/")
    assert application.pages == {}, "HEAD requests and 404s are not remembered"


def test_a_lesson_sets_no_cookie_and_csrf_sets_one(client: Client) -> None:
    assert "csrftoken" not in client.get("/sections/5.1/").cookies
    response = client.get("/csrf")
    assert response.status_code == 204
    assert "csrftoken" in response.cookies
