"""URL normalisation: one spelling per resource, so that deduplication is a set lookup.

The rules (SPEC.md, "URL normalisation"): strip surrounding whitespace, resolve against the
page URL, keep http and https only, lowercase scheme and host, drop credentials, the default
port and the fragment, remove dot segments, give an empty path "/", drop an empty query,
decode percent-escapes of unreserved characters and uppercase the hex digits of the others.
"""

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 unreserved characters: an escape of one of these means the character itself.
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
WHITESPACE = " \t\n\r\f"


def normalize_url(href: str, base: str) -> str | None:
    """The normalised absolute form of a link found on page `base`; None if not http(s).

    normalize_url("../p/7#top", "http://Shop.test:80/a/b")  ->  "http://shop.test/p/7"
    normalize_url("mailto:desk@shop.test", "http://shop.test/")  ->  None
    """
    # TODO: strip WHITESPACE, resolve with urllib.parse.urljoin, split with urlsplit. Note
    # that urljoin leaves the dot segments of an already-absolute URL alone, and that
    # .port raises ValueError for a port that is not a number. Rebuild with urlunsplit from
    # the lowercased scheme, .hostname (lowercase, no credentials), the port unless it is the
    # scheme's default, the cleaned path and query, and no fragment.
    raise NotImplementedError("TODO: normalize_url")


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve "." and ".." segments ("/a/./b/../c" -> "/a/c").

    ".." never climbs above the root ("/../x" -> "/x"), and a path that ends in a dot
    segment keeps its trailing slash ("/a/b/.." -> "/a/").
    """
    # TODO: walk the segments of path.split("/") with an output stack.
    raise NotImplementedError("TODO: remove_dot_segments")


def normalize_escapes(text: str) -> str:
    """Decode %XX of unreserved characters; uppercase the hex digits of every other escape.

    normalize_escapes("/%7Euser/%2fdocs")  ->  "/~user/%2Fdocs"
    """
    # TODO: a re.sub over r"%([0-9A-Fa-f]{2})" with a function as the replacement.
    raise NotImplementedError("TODO: normalize_escapes")


def origin(url: str) -> str:
    """scheme://host[:port] of a normalised URL: the unit of scope, politeness and robots.txt."""
    # TODO: two lines with urlsplit.
    raise NotImplementedError("TODO: origin")
