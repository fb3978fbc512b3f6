"""The HTTP contract, checked without workers: what POST /jobs accepts and refuses, and what
GET /jobs/{id} says about a job that does not exist. A client reads these status codes and
error messages, so they are part of the interface as much as the happy path is."""

import uuid
from typing import Any

import pytest
from support import ApiServer, document


def test_a_valid_document_is_accepted_with_201_and_can_be_looked_up(api: ApiServer) -> None:
    payload = document("Lease agreement 2291", pages=3, seed=1, priority=4)
    status, body = api.post_json("/jobs", payload)
    assert status == 201, (
        f"POST /jobs with a valid document answers 201 Created, not {status}: {body}"
    )
    assert isinstance(body, dict) and isinstance(body.get("id"), str), (
        f"the 201 body carries the new job's id as a string: {body}"
    )
    assert body.get("state") == "queued", f"a new job is 'queued': {body}"
    shown = api.status(body["id"])
    assert shown["id"] == body["id"] and shown["title"] == "Lease agreement 2291", shown
    assert shown["priority"] == 4 and shown["pages_total"] == 3, (
        f"GET /jobs/{{id}} shows the priority and page count submitted: {shown}"
    )
    assert [page["number"] for page in shown["pages"]] == [1, 2, 3], (
        f"'pages' lists every page by its number, 1-based, in order: {shown['pages']}"
    )
    assert shown["state"] in ("queued", "processing", "succeeded"), shown


@pytest.mark.parametrize(
    "job_id", [str(uuid.UUID(int=7)), "not-a-job-id", "1%3B%20DROP%20TABLE%20jobs"], ids=str
)
def test_an_unknown_job_id_answers_404_with_an_error(api: ApiServer, job_id: str) -> None:
    status, body = api.get(f"/jobs/{job_id}")
    assert status == 404, (
        f"GET /jobs/{job_id} answers 404 for a job that does not exist (a malformed id "
        f"included: it names no job), not {status}: {body}"
    )
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], (
        f"errors are JSON objects with an 'error' message: {body}"
    )


def test_a_body_that_is_not_json_answers_400(api: ApiServer) -> None:
    status, body = api.request("POST", "/jobs", b'{"title": "Lease", "pages": [')
    assert status == 400, f"a body that does not parse as JSON answers 400, not {status}: {body}"
    assert isinstance(body, dict) and body.get("error"), f"with a JSON 'error' message: {body}"


PAGE: dict[str, Any] = {"text": "Payment is due on the first day of each month."}
INVALID: list[tuple[str, object, str]] = [
    ("not an object", ["a", "list"], "object"),
    ("no title", {"pages": [PAGE]}, "title"),
    ("blank title", {"title": "  ", "pages": [PAGE]}, "title"),
    ("priority too high", {"title": "Lease", "priority": 12, "pages": [PAGE]}, "priority"),
    ("priority not a number", {"title": "Lease", "priority": "high", "pages": [PAGE]}, "priority"),
    ("no pages", {"title": "Lease", "pages": []}, "pages"),
    ("page without text", {"title": "Lease", "pages": [PAGE, {"ocr_seconds": 1}]}, "pages[1].text"),
    (
        "negative fail_times",
        {"title": "Lease", "pages": [{**PAGE, "fail_times": -1}]},
        "pages[0].fail_times",
    ),
    ("misspelt field", {"title": "Lease", "pages": [{**PAGE, "fail_time": 2}]}, "fail_time"),
]


@pytest.mark.parametrize(("case", "payload", "names"), INVALID, ids=[c[0] for c in INVALID])
def test_an_invalid_document_answers_422_naming_the_field(
    api: ApiServer, case: str, payload: object, names: str
) -> None:
    status, body = api.post_json("/jobs", payload)
    assert status == 422, (
        f"{case}: well-formed JSON that breaks the document contract answers 422 "
        f"Unprocessable Content, not {status}: {body}"
    )
    message = body.get("error") if isinstance(body, dict) else None
    assert isinstance(message, str) and names in message, (
        f"{case}: the 'error' message names what is wrong ({names!r}) so the client can fix "
        f"it; it said: {message!r}"
    )
