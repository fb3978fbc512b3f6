"""Parsing a fetched HTML page: its title and the URLs its <a href> elements point to.

parse_page is a plain function of strings, with no asyncio in it, so the crawler can run it in
a worker process (SPEC.md, "Parsing off the event loop") and the tests can call it directly.
"""

import asyncio
import logging
import multiprocessing
import re
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from html.parser import HTMLParser

from scraper.urls import normalize_url

logger = logging.getLogger(__name__)
WHITESPACE_RUN = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedPage:
    title: str | None
    links: list[str] = field(default_factory=list)


class _TitleAndLinks(HTMLParser):
    """Collects the first <title>'s text and every <a href> value, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities arrive decoded in handle_data
        self.hrefs: list[str] = []
        self.title_parts: list[str] = []
        self.in_title = False
        self.title_seen = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = next((value for name, value in attrs if name == "href"), None)
            if href is not None:
                self.hrefs.append(href)
        elif tag == "title" and not self.title_seen:
            self.in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self.in_title:
            self.in_title = False
            self.title_seen = True

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.title_parts.append(data)


def parse_page(html: str, url: str) -> ParsedPage:
    """The page's title (None if absent or blank) and its links, normalised and deduplicated."""
    parser = _TitleAndLinks()
    parser.feed(html)
    parser.close()
    title = WHITESPACE_RUN.sub(" ", "".join(parser.title_parts)).strip() or None
    links: dict[str, None] = {}  # a dict keeps first-seen order and drops repeats
    for href in dict.fromkeys(parser.hrefs):  # navigation repeats the same hrefs: normalise once
        normalized = normalize_url(href, url)
        if normalized is not None:
            links.setdefault(normalized)
    return ParsedPage(title, list(links))


def parse_document(body: bytes, charset: str | None, url: str) -> ParsedPage:
    """Decode a response body (its charset, else UTF-8, bad bytes replaced) and parse it.

    A top-level function of picklable arguments, so a ProcessPoolExecutor can run it.
    """
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    return parse_page(text, url)


def _ignore_interrupts() -> None:
    """Worker processes ignore SIGINT: Ctrl-C reaches the whole process group, and the main
    process, not each worker, decides how the crawl stops (it waits for their results)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class PageParser:
    """Parses pages without stalling the event loop.

    A typical page (a few KB) parses in under a millisecond: a process costs the loop about
    as much to hand it over, and a thread saves nothing under the GIL, so it is parsed right
    here. A page over INLINE_LIMIT can take seconds, during which the loop would start no
    request and read no response, so it goes to a worker process (or, with processes=0, a
    thread: that keeps the loop responsive but, under the GIL, takes CPU time from it). If
    the pool breaks (a worker was killed), big pages fall back to a thread rather than being
    lost.
    """

    INLINE_LIMIT = 64 * 1024

    def __init__(self, processes: int) -> None:
        self._executor: ProcessPoolExecutor | None = None
        if processes > 0:
            self._executor = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_ignore_interrupts,
            )

    async def parse(self, body: bytes, charset: str | None, url: str) -> ParsedPage:
        if len(body) <= self.INLINE_LIMIT:
            return parse_document(body, charset, url)
        if self._executor is not None:
            loop = asyncio.get_running_loop()
            try:
                return await loop.run_in_executor(
                    self._executor, parse_document, body, charset, url
                )
            except BrokenProcessPool:
                logger.warning("the parser pool broke; parsing big pages in a thread from now on")
                self._executor = None
        return await asyncio.to_thread(parse_document, body, charset, url)

    def __enter__(self) -> "PageParser":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
