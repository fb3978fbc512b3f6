"""Flower's production settings: `celery -A billing flower --conf=flowerconfig.py`.

Flower runs this file as Python (tornado's parse_config_file) and takes every global whose name
is one of its options; options given on the command line afterwards win. A name that matches no
option is ignored without a word, so `python flowerconfig.py` loads the file the way Flower does
and prints what Flower will use, and any name it would ignore.

The password is not here: Flower reads FLOWER_BASIC_AUTH ("user:password", several separated by
commas) from its environment, like any FLOWER_<OPTION> variable, and that comes from a secret.
"""

import os
import re
from typing import Any

address = "127.0.0.1"  # only the reverse proxy on this host can connect
port = int(os.environ.get("FLOWER_PORT", "5555"))
url_prefix = "flower"  # the proxy serves https://ops.example.com/flower/
xheaders = True  # take the client address and scheme from the proxy's X-Real-Ip, X-Scheme

persistent = True  # keep the task history across restarts...
db = "/var/lib/flower/flower.db"  # ...in this shelve file
state_save_interval = 60_000  # ms: also save every minute, not only on a clean shutdown
max_tasks = 20_000  # tasks kept in memory (default 100,000); the oldest are evicted
purge_offline_workers = 300  # s: forget a worker 5 minutes after its last heartbeat
inspect_timeout = 3000.0  # ms to wait for workers' replies to inspect calls
enable_events = True  # re-send enable_events to the workers every 5 s

CARD_NUMBER = re.compile(r"\b\d{4}(?:[ -]?\d{4}){3}\b")


def format_task(task: Any) -> Any:
    """Mask card numbers on the Tasks and Task pages (Flower passes a copy of each task).

    Flower 2.2 applies this to those pages only: /api/tasks and /api/task/info return the
    arguments unchanged, as flower_security.py shows. Keep secrets out of task arguments.
    """
    if task.args:
        task.args = CARD_NUMBER.sub("<card>", task.args)
    if task.kwargs:
        task.kwargs = CARD_NUMBER.sub("<card>", task.kwargs)
    return task


def check() -> None:
    """Load this file as Flower does and print the result (run it in CI)."""
    import flower.options  # type: ignore[import-untyped]  # noqa: F401  (defines the options)
    import tornado.options

    parser = tornado.options.options
    parser.parse_config_file(__file__, final=False)
    settings = {name: value for name, value in globals().items() if name.islower()}
    ignored = sorted(
        name
        for name, value in settings.items()
        if name not in parser
        and not name.startswith("_")
        and not callable(value)
        and not isinstance(value, type(os))
    )
    for name in sorted(settings):
        if name in parser:
            value = parser[name]
            shown = f"<function {value.__name__}>" if callable(value) else repr(value)
            print(f"{name:<22} = {shown}")
    print(f"names Flower ignores: {ignored or 'none'}")
    secret = "set" if os.environ.get("FLOWER_BASIC_AUTH") else "not set"
    print(f"basic_auth from the environment: {secret}")


if __name__ == "__main__":
    check()
