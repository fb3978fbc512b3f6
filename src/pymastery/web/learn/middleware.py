"""Single-user mode: the local learner is always signed in; there is no sign-up."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.functional import SimpleLazyObject

from pymastery.web.progress.actions import local_learner


def single_user(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    if not settings.SINGLE_USER:
        return get_response

    def middleware(request: HttpRequest) -> HttpResponse:
        request.user = SimpleLazyObject(local_learner)  # type: ignore[assignment]
        return get_response(request)

    return middleware


def csrf_cookie(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Every page leaves the CSRF cookie that htmx requests send back as a header."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.method == "GET":
            get_token(request)
        return get_response(request)

    return middleware
