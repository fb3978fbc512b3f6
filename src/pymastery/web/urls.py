from django.conf import settings
from django.urls import URLPattern, URLResolver, include, path

from pymastery.web.learn import practice_views, progress_views, review_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("modules/<int:number>/", views.module_detail, name="module"),
    path("paths/<slug:path_id>/", views.path_detail, name="path"),
    path("sections/<str:key>/", views.section_detail, name="section"),
    path("sections/<str:key>/examples/<str:name>/run", views.run_example, name="run-example"),
    path("sections/<str:key>/read", views.mark_section_read, name="section-read"),
    path("sections/<str:key>/exercise/", practice_views.exercise_page, name="exercise"),
    path("sections/<str:key>/exercise/check", practice_views.exercise_check, name="exercise-check"),
    path("sections/<str:key>/exercise/hint", practice_views.exercise_hint, name="exercise-hint"),
    path(
        "sections/<str:key>/exercise/give-up",
        practice_views.exercise_give_up,
        name="exercise-give-up",
    ),
    path("sections/<str:key>/quiz/", practice_views.quiz_page, name="quiz"),
    path(
        "sections/<str:key>/quiz/<int:index>/answer", practice_views.quiz_answer, name="quiz-answer"
    ),
    path(
        "sections/<str:key>/quiz/discussion/<int:index>",
        practice_views.discussion_answer,
        name="discussion-answer",
    ),
    path("review/", review_views.review_page, name="review"),
    path("review/next", review_views.review_next, name="review-next"),
    path("review/<int:card_id>/answer", review_views.review_answer, name="review-answer"),
    path("progress/", progress_views.progress_page, name="progress"),
    path("projects/", views.project_list, name="projects"),
    path("projects/<int:capstone>/", views.project_detail, name="project"),
    path("search/", views.search, name="search"),
    path(
        "sections/<str:key>/exercise/attempts/",
        practice_views.exercise_attempts,
        name="exercise-attempts",
    ),
    path(
        "sections/<str:key>/exercise/attempts/<int:attempt_id>/",
        practice_views.exercise_attempt,
        name="exercise-attempt",
    ),
    path(
        "submissions/<int:submission_id>/",
        practice_views.submission_status,
        name="submission",
    ),
    path("highlight.css", views.highlight_css, name="highlight-css"),
    path("csrf", views.csrf_cookie, name="csrf"),
]
if not settings.SINGLE_USER:
    urlpatterns.append(path("", include("pymastery.web.accounts.urls")))
