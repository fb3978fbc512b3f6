"""Attack: read the host's files — password hashes, shell history, the database's data folder,
the settings of the web app, the host's root through /proc/1/root. Guarantee: none of them is
inside the sandbox's view."""

import json
from pathlib import Path

TARGETS = (
    "/etc/shadow",
    "/etc/passwd",
    "/root/.bash_history",
    "/var/lib/postgresql",
    "/etc/pymastery",
    "/proc/1/root/etc/shadow",
)


def attempt(target: str) -> str:
    try:
        path = Path(target)
        if path.is_dir():
            return f"listed {len(list(path.iterdir()))}"
        return f"read {len(path.read_bytes())}"
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    print("OBSERVED", json.dumps({target: attempt(target) for target in TARGETS}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
