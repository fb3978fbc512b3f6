"""URL normalisation: one spelling per resource, so that deduplication is a set lookup.

The rules (SPEC.md, "URL normalisation"): strip surrounding whitespace, resolve against the
page URL, keep http and https only, lowercase scheme and host, drop credentials, the default
port and the fragment, remove dot segments, give an empty path "/", drop an empty query,
decode percent-escapes of unreserved characters and uppercase the hex digits of the others.
"""

import re
from urllib.parse import urljoin, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
# RFC 3986 unreserved characters: an escape of one of these means the character itself.
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
WHITESPACE = " \t\n\r\f"


def normalize_url(href: str, base: str) -> str | None:
    """The normalised absolute form of a link found on page `base`; None if not http(s)."""
    try:
        parts = urlsplit(urljoin(base, href.strip(WHITESPACE)))
        port = parts.port  # ValueError for a port that is not a number in range
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname  # lowercased, without credentials or port
    if scheme not in DEFAULT_PORTS or not host:
        return None
    if ":" in host:  # an IPv6 literal loses its brackets in .hostname
        host = f"[{host}]"
    netloc = host if port is None or port == DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = normalize_escapes(remove_dot_segments(parts.path)) or "/"
    query = normalize_escapes(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


def remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4: resolve "." and ".." segments ("/a/./b/../c" -> "/a/c")."""
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    result = "/".join(output)
    if path.startswith("/") and not result.startswith("/"):
        result = "/" + result
    return result


def normalize_escapes(text: str) -> str:
    """Decode %XX of unreserved characters; uppercase the hex digits of every other escape."""

    def fix(match: re.Match[str]) -> str:
        character = chr(int(match.group(1), 16))
        return character if character in UNRESERVED else "%" + match.group(1).upper()

    return ESCAPE.sub(fix, text) if "%" in text else text


def origin(url: str) -> str:
    """scheme://host[:port] of a normalised URL: the unit of scope, politeness and robots.txt."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
