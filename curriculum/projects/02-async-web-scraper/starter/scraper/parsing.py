"""Parsing a fetched HTML page: its title and the URLs its <a href> elements point to.

parse_page is a plain function of strings, with no asyncio in it, so the crawler can run it in
a worker process (SPEC.md, "Parsing off the event loop") and the tests can call it directly.
"""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass(frozen=True)
class ParsedPage:
    title: str | None
    links: list[str] = field(default_factory=list)


class _TitleAndLinks(HTMLParser):
    """Collects the first <title>'s text and every <a href> value, in document order.

    html.parser lowercases tag and attribute names, treats the content of <script> and
    <style> as text, and with convert_charrefs=True hands you entities already decoded.
    """

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.title_parts: list[str] = []
        # TODO: whatever state you need to know whether you are inside the first <title>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # TODO: an <a> with an href attribute (its value may be None: <a href>) adds to hrefs
        raise NotImplementedError("TODO: handle_starttag")

    def handle_endtag(self, tag: str) -> None:
        raise NotImplementedError("TODO: handle_endtag")

    def handle_data(self, data: str) -> None:
        raise NotImplementedError("TODO: handle_data")


def parse_page(html: str, url: str) -> ParsedPage:
    """The page's title (None if absent or blank) and its links.

    Title: the text of the first <title>, each run of whitespace collapsed to one space,
    stripped. Links: the href of every <a>, normalised against `url` with normalize_url,
    non-http(s) ones dropped, duplicates removed, in document order.
    """
    # TODO: feed the parser, close it, build the ParsedPage. Pages repeat the same hrefs in
    # their navigation: normalising each distinct href once is an easy saving.
    raise NotImplementedError("TODO: parse_page")


def parse_document(body: bytes, charset: str | None, url: str) -> ParsedPage:
    """Decode a response body (its charset, else UTF-8, bad bytes replaced) and parse it.

    A top-level function of picklable arguments, so a ProcessPoolExecutor can run it. An
    unknown charset name raises LookupError in bytes.decode: fall back to UTF-8.
    """
    raise NotImplementedError("TODO: parse_document")


class PageParser:
    """Parses pages without stalling the event loop.

    A typical page (a few KB) parses in under a millisecond: a process costs the loop about
    as much to hand it over, and a thread saves nothing under the GIL, so parse it right
    away. A page over INLINE_LIMIT can take seconds, during which the loop would start no
    request and read no response: hand it to a ProcessPoolExecutor (processes > 0) or a
    thread (processes == 0). Worker processes must ignore SIGINT (an `initializer`),
    because Ctrl-C reaches the whole process group.
    """

    INLINE_LIMIT = 64 * 1024

    def __init__(self, processes: int) -> None:
        # TODO: create the executor; the "forkserver" start method avoids forking a process
        # that already runs threads (multiprocessing.get_context("forkserver")).
        raise NotImplementedError("TODO: PageParser.__init__")

    async def parse(self, body: bytes, charset: str | None, url: str) -> ParsedPage:
        """parse_document(body, charset, url), inline or in the executor by size."""
        raise NotImplementedError("TODO: PageParser.parse")

    def __enter__(self) -> "PageParser":
        return self

    def __exit__(self, *exc_info: object) -> None:
        # TODO: shut the executor down (cancel_futures=True)
        raise NotImplementedError("TODO: PageParser.__exit__")
