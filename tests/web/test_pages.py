"""The learner's pages through Django's test client (single-user mode)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pymastery.web.learn.catalog import catalog

pytestmark = pytest.mark.django_db


def test_home_lists_every_module_and_path(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for module in catalog().modules:
        assert module.meta.title.replace("&", "&amp;") in page
    for learning_path in catalog().paths:
        assert learning_path.title in page


def test_a_module_page_shows_every_field_of_the_module(client: Client) -> None:
    module = catalog().module(5)
    assert module is not None
    page = client.get("/modules/5/").content.decode()
    assert module.meta.icon in page
    assert module.meta.key_takeaways[0].split()[0] in page
    assert module.meta.learning_objectives[0].split()[0] in page
    assert module.meta.production_examples[0].title.split()[0] in page
    assert "capstone 1" in page
    assert page.count('class="badge">planned') == sum(not s.complete for s in module.sections)


def test_a_path_page_lists_its_modules(client: Client) -> None:
    page = client.get("/paths/backend-engineer/").content.decode()
    assert "Backend Engineer Path" in page
    assert "/modules/13/" in page and "/modules/18/" in page


def test_a_written_section_renders_its_lesson_with_highlighted_examples(client: Client) -> None:
    section = catalog().section("5.1")
    assert section is not None and section.content is not None
    page = client.get("/sections/5.1/").content.decode()
    assert 'id="why-this-matters-in-production"' in page
    first = section.content.spec.examples[0]
    assert f'data-example="{first.name}"' in page
    assert 'class="highlight language-python"' in page
    assert 'rel="next" href="/sections/5.2/"' in page


def test_a_planned_section_shows_its_subtopics(client: Client) -> None:
    page = client.get("/sections/20.16/").content.decode()
    assert "planned and not yet written" in page
    assert 'rel="prev" href="/sections/20.15/"' in page


@pytest.mark.parametrize(
    "url", ["/sections/5.99/", "/modules/42/", "/paths/nowhere/", "/sections/banana/"]
)
def test_unknown_pages_are_404(client: Client, url: str) -> None:
    assert client.get(url).status_code == 404


def test_search_returns_a_fragment_for_htmx_and_a_page_otherwise(client: Client) -> None:
    fragment = client.get("/search/", {"q": "loading strategies"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in fragment.content
    assert b'href="/sections/5.6/"' in fragment.content
    page = client.get("/search/", {"q": "loading strategies"})
    assert b"<html" in page.content


@pytest.mark.services
def test_running_an_example_shows_its_real_output(client: Client) -> None:
    section = catalog().section("5.1")
    assert section is not None and section.content is not None
    example = section.content.spec.examples[0]
    response = client.post(f"/sections/5.1/examples/{example.name}/run")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Output matches the lesson" in page, page


def test_running_is_post_only(client: Client) -> None:
    assert client.get("/sections/5.1/examples/anything/run").status_code == 405


def test_the_home_page_costs_a_fixed_number_of_queries(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    client.get("/")
    with django_assert_max_num_queries(2):
        client.get("/")


def test_the_projects_page_lists_the_nine_capstones(client: Client) -> None:
    page = client.get("/projects/").content.decode()
    for number in range(1, 10):
        assert f"<strong>{number}. " in page
    assert client.get("/projects/9/").status_code == 404
