"""Sign-up and the account menu; Django's own views handle login, logout and password reset."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from pymastery.web.accounts.forms import SignUpForm
from pymastery.web.accounts.models import Membership, is_instructor


@login_not_required
def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            cohort = form.cohort()
            if cohort is not None:
                Membership.objects.create(cohort=cohort, user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "accounts/sign_up.html", {"form": form})


@require_GET
def account_menu(request: HttpRequest) -> HttpResponse:
    """The signed-in part of the header, fetched by htmx so cached pages stay the same for all."""
    user = request.user
    assert isinstance(user, User)
    return render(request, "accounts/_menu.html", {"instructor": is_instructor(user)})
