"""Attack: path-based Unix sockets — PostgreSQL's, MariaDB's, Redis's, and one the test listens
on at /tmp/pymastery-hostile.sock. Guarantee: a network namespace alone would not hide these; the
mount namespace does, so none of the paths exists inside the sandbox."""

import json
import socket

PATHS = (
    "/var/run/postgresql/.s.PGSQL.5432",
    "/run/postgresql/.s.PGSQL.5432",
    "/run/mysqld/mysqld.sock",
    "/var/run/redis/redis-server.sock",
    "/tmp/pymastery-hostile.sock",
)


def attempt(path: str) -> str:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(path)
            return "connected"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({path: attempt(path) for path in PATHS}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
