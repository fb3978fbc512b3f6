from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

from pymastery.web.accounts import instructor_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("accounts/sign-up/", views.sign_up, name="sign-up"),
    path("accounts/menu", views.account_menu, name="account-menu"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("instructor/", instructor_views.cohort_list, name="instructor"),
    path("instructor/<slug:slug>/", instructor_views.cohort_detail, name="instructor-cohort"),
    path("instructor/<slug:slug>/progress.csv", instructor_views.cohort_csv, name="instructor-csv"),
    path(
        "instructor/<slug:slug>/learners/<int:learner_id>/",
        instructor_views.learner_detail,
        name="instructor-learner",
    ),
    path("admin/", admin.site.urls),
]
