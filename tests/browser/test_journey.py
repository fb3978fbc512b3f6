"""The learner journey in a real browser: Playwright driving Debian's Chromium.

Open a section, run an example, fail then pass the exercise, answer a quiz question, see progress
move. Every page is checked with axe-core for serious or critical violations, and at phone width
for horizontal overflow. Screenshots land in test-artifacts/journey/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from pymastery.web.learn.catalog import catalog
from tests.conftest import PROJECT

CHROMIUM = Path("/usr/bin/chromium")
AXE = PROJECT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = PROJECT / "test-artifacts" / "journey"
KEY = "5.1"

pytestmark = [pytest.mark.browser, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Playwright's sync API keeps an event loop running in this thread; Django's database
    # set-up then refuses to run unless told that this test thread is safe (it is: no async).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not CHROMIUM.exists():
        pytest.fail(
            "Chromium is missing: run `bash tools/system-packages.sh` (Debian package "
            "chromium) before the browser tests"
        )
    if not AXE.exists():
        pytest.fail("axe-core is missing: run `make install` (frontend/node_modules)")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


CSP_WATCH = """window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`);
});"""


def new_page(browser: Browser, **options: Any) -> Page:
    """A page that records Content-Security-Policy violations (our policy allows no inline code)."""
    page = browser.new_page(**options)
    page.add_init_script(CSP_WATCH)
    return page


def csp_violations(page: Page) -> list[str]:
    violations: list[str] = page.evaluate("window.cspViolations")
    return violations


def accessibility_problems(page: Page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))  # DevTools evaluation, so the CSP allows it
    result: dict[str, Any] = page.evaluate("""async () => await axe.run(document, {
        resultTypes: ['violations']})""")
    return [
        f"{v['impact']}: {v['id']}: {v['help']} at {[n['target'] for n in v['nodes']]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def check_page(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    problems = accessibility_problems(page)
    assert not problems, f"{name}: " + "; ".join(problems)
    assert csp_violations(page) == [], f"{name}: the page broke its own Content-Security-Policy"


def set_editor_text(page: Page, text: str) -> None:
    page.evaluate(
        """(text) => { const view = window.pymasteryEditorView;
        view.dispatch({changes: {from: 0, to: view.state.doc.length, insert: text}}); }""",
        text,
    )


def test_the_learner_journey(browser: Browser, live_server: Any) -> None:
    section = catalog().section(KEY)
    assert section is not None and section.content is not None
    solution = section.content.exercise.solution.read_text()
    first_example = section.content.spec.examples[0]
    question = section.content.quiz.multiple_choice[0]

    page = new_page(browser, viewport={"width": 1280, "height": 900})
    page.goto(live_server.url + "/")
    check_page(page, "01-home")
    page.get_by_role("link", name="5. SQLAlchemy & Database Mastery").click()
    check_page(page, "02-module")
    page.get_by_role("link", name=f"{KEY} {section.title}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(section.title)
    check_page(page, "03-section")

    figure = page.locator(f'figure[data-kind="source"][data-example="{first_example.name}"]')
    figure.get_by_role("button", name="Run").click()
    expect(page.get_by_text("Output matches the lesson")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "04-example-run.png"))

    page.get_by_role("link", name="Do the exercise").click()
    page.get_by_role("button", name="Check").click()
    results = page.locator("#results")
    expect(results).to_contain_text("tests pass", timeout=60_000)
    expect(results.locator("li.fail").first).to_be_visible()
    check_page(page, "05-exercise-failing")
    set_editor_text(page, solution)
    page.get_by_role("button", name="Check").click()
    expect(results).to_contain_text("Well done", timeout=60_000)
    expect(page.get_by_role("heading", name="Reference solution")).to_be_visible()
    check_page(page, "06-exercise-passing")

    page.goto(f"{live_server.url}/sections/{KEY}/quiz/")
    first = page.locator("section.question").first
    first.locator('input[type="radio"]').nth(question.correct_index).check()
    first.get_by_role("button", name="Answer").click()
    expect(first).to_contain_text("Correct.")
    expect(first.locator(".explanations li")).to_have_count(4)
    check_page(page, "07-quiz")

    page.goto(live_server.url + "/progress/")
    row = page.locator("tr", has=page.get_by_role("link", name="5. SQLAlchemy & Database Mastery"))
    written = sum(s.written for s in catalog().sections if s.module_number == 5)
    expect(row.locator("td").nth(1)).to_have_text(f"1/{written}")
    expect(row.locator("td").nth(2)).to_contain_text("100% of 1")
    check_page(page, "08-progress")


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/modules/5/",
        f"/sections/{KEY}/",
        f"/sections/{KEY}/exercise/",
        f"/sections/{KEY}/quiz/",
        "/progress/",
        "/review/",
    ],
)
def test_pages_fit_a_phone_screen(browser: Browser, live_server: Any, path: str) -> None:
    page = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True)
    page.goto(live_server.url + path)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    name = "phone" + (path.strip("/").replace("/", "-") or "-home")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at phone width"
    assert json.dumps(accessibility_problems(page)) == "[]"
    assert csp_violations(page) == []


def test_a_lesson_opened_first_is_counted_as_read(browser: Browser, live_server: Any) -> None:
    """A lesson page sets no cookie; its read beacon first fetches the CSRF cookie from /csrf."""
    page = new_page(browser, viewport={"width": 1280, "height": 900})
    with page.expect_response(lambda r: r.url.endswith(f"/sections/{KEY}/read")) as beacon:
        page.goto(f"{live_server.url}/sections/{KEY}/")
    assert beacon.value.status == 204
    page.goto(live_server.url + "/progress/")
    row = page.locator("tr", has=page.get_by_role("link", name="5. SQLAlchemy & Database Mastery"))
    expect(row.locator("td").nth(0)).to_have_text(re.compile(r"^1/"))
