"""The progress dashboard."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from pymastery.web.learn.catalog import catalog
from pymastery.web.learn.practice_views import learner_of
from pymastery.web.progress import charts, dashboard


@require_GET
def progress_page(request: HttpRequest) -> HttpResponse:
    board = dashboard.build(catalog(), learner_of(request))
    written = sum(m.written for m in board.modules)
    completion = charts.line_chart("Sections passed over time", board.passes_by_day, written)
    accuracy = charts.bar_chart(
        "Quiz accuracy per module", [(str(m.number), m.accuracy) for m in board.modules]
    )
    return render(
        request,
        "learn/progress.html",
        {
            "board": board,
            "written": written,
            "completion_chart": mark_safe(completion),
            "accuracy_chart": mark_safe(accuracy),
        },
    )
