"""Single-user mode: the local learner is always signed in; there is no sign-up."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils.functional import SimpleLazyObject

from pymastery.web.progress.actions import local_learner
from pymastery.web.shared_pages import SHARED_PAGE


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
    """Pages leave the CSRF cookie that htmx requests send back as a header; shared pages don't."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if request.method == "GET" and SHARED_PAGE not in response:
            get_token(request)
        return response

    return middleware
