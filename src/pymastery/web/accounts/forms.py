from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

from pymastery.web.accounts.models import Cohort


class SignUpForm(UserCreationForm[User]):
    email = forms.EmailField(help_text="For password resets; never shown to other learners.")
    join_code = forms.CharField(
        label="Cohort code",
        required=False,
        max_length=24,
        help_text="From your instructor; leave empty to study on your own.",
    )

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"].strip().lower()
        if User.objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this email exists; sign in instead.")
        return email

    def clean_join_code(self) -> Cohort | None:
        code: str = self.cleaned_data["join_code"].strip()
        if not code:
            return None
        cohort = Cohort.objects.filter(join_code=code).first()
        if cohort is None:
            raise forms.ValidationError("No cohort has this code; check it with your instructor.")
        return cohort

    def cohort(self) -> Cohort | None:
        cohort: Any = self.cleaned_data.get("join_code")
        return cohort if isinstance(cohort, Cohort) else None
