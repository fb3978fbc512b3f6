"""Attack: read other learners' work — grading folders under /tmp (the test leaves one there with
a secret in it), /var/tmp, /run, /home, /root. Guarantee: the sandbox has its own empty /tmp and
none of the host's other folders."""

import json
from pathlib import Path


def listing(folder: str) -> list[str] | str:
    try:
        return sorted(path.name for path in Path(folder).iterdir())
    except OSError as error:
        return type(error).__name__


def invoice_total(lines: list[int]) -> int:
    folders = ("/tmp", "/var/tmp", "/run", "/home", "/root", "/sandbox")
    print("OBSERVED", json.dumps({folder: listing(folder) for folder in folders}))
    return -1


def largest_line(lines: list[int]) -> None:
    return None
