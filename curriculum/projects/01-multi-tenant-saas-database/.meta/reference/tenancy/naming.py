"""Names of schemas and roles, derived from a namespace and a tenant slug, and checked first.

Schema and role names cannot be bound parameters, so they end up inside SQL text. Everything
that builds such text goes through these checks: a name either matches a strict pattern or the
call fails before any SQL is sent.
"""

import re

from tenancy.errors import InvalidName

NAMESPACE_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,19}")
SLUG_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,29}")


def check_namespace(namespace: str) -> str:
    if not NAMESPACE_PATTERN.fullmatch(namespace):
        raise InvalidName(
            f"namespace {namespace!r} must be 1-20 characters: a lowercase letter, "
            "then lowercase letters, digits or underscores"
        )
    return namespace


def check_slug(slug: str) -> str:
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidName(
            f"tenant slug {slug!r} must be 1-30 characters: a lowercase letter, "
            "then lowercase letters, digits or underscores"
        )
    return slug


def quoted(identifier: str) -> str:
    """A checked identifier in double quotes, ready to place in SQL text."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,62}", identifier):
        raise InvalidName(f"{identifier!r} is not a plain lowercase identifier")
    return f'"{identifier}"'
