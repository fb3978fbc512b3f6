"""Serve pages that are the same for every visitor without entering Django again.

A view marks such a response with the SHARED_PAGE header (lesson pages in single-user mode: the
rendered lesson, no cookie, nothing about the visitor). The first GET of that path goes through
Django as usual; this WSGI wrapper keeps the response's status, headers and body, and answers later
GETs of the same path from memory. Content changes need a restart, as the lesson cache already did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

SHARED_PAGE = "X-Pymastery-Shared-Page"
SHARED_PAGE_WSGI = "HTTP_" + SHARED_PAGE.upper().replace("-", "_")

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class SharedPages:
    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.pages: dict[str, tuple[str, list[tuple[str, str]], bytes]] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "GET" or environ.get("QUERY_STRING"):
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        page = self.pages.get(path)
        if page is not None:
            status, headers, body = page
            start_response(status, headers)
            return [body]
        return self.capture(path, environ, start_response)

    def capture(
        self, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def remember(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            seen["status"], seen["headers"] = status, headers
            shared = any(name == SHARED_PAGE for name, _ in headers)
            kept = [(name, value) for name, value in headers if name != SHARED_PAGE]
            seen["shared"] = shared and status.startswith("200")
            seen["kept"] = kept
            return start_response(status, kept, *exc_info)

        response = self.app(environ, remember)
        if not seen.get("shared"):
            return response
        try:
            body = b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
        if not any(name.lower() == "set-cookie" for name, _ in seen["kept"]):
            self.pages[path] = (seen["status"], seen["kept"], body)
        return [body]
