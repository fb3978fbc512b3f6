"""Single-user mode: the local learner is always signed in; there is no sign-up."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse

from pymastery.web.progress.actions import local_learner


def single_user(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    if not settings.SINGLE_USER:
        return get_response
    learner: list[User] = []

    def middleware(request: HttpRequest) -> HttpResponse:
        if not learner:
            learner.append(local_learner())
        request.user = learner[0]
        return get_response(request)

    return middleware
