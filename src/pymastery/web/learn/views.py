"""Pages for reading and running: thin views over the catalog and the progress actions."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from pymastery.core import runner, services
from pymastery.core.model import Module, Section
from pymastery.core.render import pygments_css, render_markdown
from pymastery.web.learn.catalog import catalog, lesson, neighbours, search_index
from pymastery.web.progress.actions import mark_read, section_states
from pymastery.web.shared_pages import SHARED_PAGE


def get_module(number: int) -> Module:
    module = catalog().module(number)
    if module is None:
        raise Http404(f"no module {number}")
    return module


def get_section(key: str) -> Section:
    section = catalog().section(key)
    if section is None:
        raise Http404(f"no section {key}")
    return section


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    states = section_states(request.user)
    modules = [
        (module, sum(states.get(s.key) == "passed" for s in module.sections))
        for module in catalog().modules
    ]
    return render(
        request, "learn/home.html", {"modules": modules, "paths": catalog().paths, "states": states}
    )


@require_GET
def module_detail(request: HttpRequest, number: int) -> HttpResponse:
    module = get_module(number)
    prerequisites = [m for n in module.meta.prerequisites if (m := catalog().module(n))]
    return render(
        request,
        "learn/module.html",
        {
            "module": module,
            "prerequisites": prerequisites,
            "states": section_states(request.user),
        },
    )


@require_GET
def path_detail(request: HttpRequest, path_id: str) -> HttpResponse:
    learning_path = next((p for p in catalog().paths if p.id == path_id), None)
    if learning_path is None:
        raise Http404(f"no learning path {path_id}")
    modules = [m for n in learning_path.modules if (m := catalog().module(n))]
    return render(
        request,
        "learn/path.html",
        {"path": learning_path, "modules": modules, "states": section_states(request.user)},
    )


@require_GET
def section_detail(request: HttpRequest, key: str) -> HttpResponse:
    get_section(key)
    response = HttpResponse(section_page(key))
    if settings.SINGLE_USER:
        response[SHARED_PAGE] = "1"  # the same for everyone: served from memory next time
    return response


@cache
def section_page(key: str) -> str:
    """A section page is the same for every learner: rendered once per process."""
    section = get_section(key)
    before, after = neighbours(section)
    return render_to_string(
        "learn/section.html",
        {
            "section": section,
            "module": get_module(section.module_number),
            "lesson": lesson(key),
            "previous": before,
            "next": after,
            "can_run": settings.SINGLE_USER,
            "single_user": settings.SINGLE_USER,
        },
    )


@require_POST
def mark_section_read(request: HttpRequest, key: str) -> HttpResponse:
    section = get_section(key)
    if section.content is not None and isinstance(request.user, User):
        mark_read(request.user, key)
    return HttpResponse(status=204)


@require_POST
def run_example(request: HttpRequest, key: str, name: str) -> HttpResponse:
    section = get_section(key)
    if section.content is None or (example := section.content.example(name)) is None:
        raise Http404(f"no example {name} in section {key}")
    if not settings.SINGLE_USER:
        return render(
            request,
            "learn/_example_output.html",
            {
                "error": "Running examples is available in single-user mode (pymastery serve on "
                "your own machine)."
            },
        )
    blocked = services.prepare(example.services)
    if blocked:
        return render(request, "learn/_example_output.html", {"error": "\n".join(blocked)})
    run = runner.run_example(section.content, example)
    difference = runner.output_difference(section.content, run)
    return render(
        request,
        "learn/_example_output.html",
        {"run": run, "matches": not difference and run.exit_code == 0},
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    hits = search_index().search(query, limit=20) if query else []
    template = (
        "learn/_search_results.html" if request.headers.get("HX-Request") else "learn/search.html"
    )
    return render(request, template, {"query": query, "hits": hits})


@require_GET
@require_GET
def csrf_cookie(request: HttpRequest) -> HttpResponse:
    """Sets the CSRF cookie (csrf_cookie middleware) for pages that are shared and set none."""
    return HttpResponse(status=204)


@login_not_required
@cache_control(max_age=86400, public=True)
def highlight_css(request: HttpRequest) -> HttpResponse:
    return HttpResponse(pygments_css(), content_type="text/css")


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    written = {project.spec.capstone: project for project in catalog().projects}
    capstones = [
        (practical, module, written.get(practical.capstone))
        for module in catalog().modules
        for practical in module.meta.practical_projects
        if practical.capstone
    ]
    return render(request, "learn/projects.html", {"capstones": capstones})


@require_GET
def project_detail(request: HttpRequest, capstone: int) -> HttpResponse:
    project = catalog().project(capstone)
    if project is None:
        raise Http404(f"capstone {capstone} is not written yet")
    return render(
        request,
        "learn/project.html",
        {
            "project": project,
            "module": get_module(project.spec.module),
            "specification": render_markdown(project.specification),
        },
    )
