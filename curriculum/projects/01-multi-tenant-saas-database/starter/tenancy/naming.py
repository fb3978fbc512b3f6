"""Names of schemas and roles, derived from a namespace and a tenant slug, and checked first.

Schema and role names cannot be bound parameters, so they end up inside SQL text. Everything
that builds such text must go through these checks: a name either matches a strict pattern or
the call fails, with InvalidName, before any SQL is sent.
"""

from tenancy.errors import InvalidName


def check_namespace(namespace: str) -> str:
    """Return the namespace if it is 1-20 characters of [a-z0-9_] starting with a letter.

    Raise InvalidName otherwise.
    """
    raise NotImplementedError("TODO: validate with a full-match regular expression")


def check_slug(slug: str) -> str:
    """Return the slug if it is 1-30 characters of [a-z0-9_] starting with a letter.

    Raise InvalidName otherwise.
    """
    raise NotImplementedError("TODO: validate with a full-match regular expression")


def quoted(identifier: str) -> str:
    """The identifier in double quotes, ready for SQL text; InvalidName unless it is plain."""
    raise NotImplementedError(f"TODO: check, then quote (InvalidName is {InvalidName.__name__})")
