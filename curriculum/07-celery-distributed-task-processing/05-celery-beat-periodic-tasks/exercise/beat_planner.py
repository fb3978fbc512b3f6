"""What will beat do? Fire times, start-up catch-up and crowded minutes, from the schedule objects.

The operations dashboard shows, for every periodic task in the schedule table, when beat will send
it next, what beat will send the moment it starts after downtime, and which minute of the day is
the most crowded. Entries come from the table as JSON:

    {"name": "nightly-invoices", "cron": "30 2 * * *"}      # cron order: m h dom mon dow
    {"name": "refresh-rates", "every": 900}                  # an interval, in seconds

Times are ISO 8601 strings with a UTC offset. Every answer comes from Celery's own schedule
objects (`crontab`, `schedule`), read against a clock you control, so it is exactly what beat
would compute.
"""

from datetime import datetime, timedelta  # noqa: F401  (you will need them all)
from typing import Any
from zoneinfo import ZoneInfo  # noqa: F401

from celery import Celery  # noqa: F401
from celery.schedules import BaseSchedule, crontab, schedule  # noqa: F401


class FixedClock:
    """A `nowfun` for schedule objects: returns whatever time it was last set to."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def build_schedule(
    entry: dict[str, Any],
    clock: FixedClock,
    timezone: str = "UTC",
    starting_deadline: int | None = None,
) -> BaseSchedule:
    """The Celery schedule object for one entry, in `timezone`, reading the time from `clock`.

    Raise ValueError unless the entry has exactly one of "cron" and "every", or when "every" is
    not positive. An impossible crontab (the 31st of February) raises ValueError by itself.
    """
    # TODO: a Celery app whose conf carries the time zone and beat_cron_starting_deadline;
    #       crontab.from_string() for "cron", schedule(timedelta(...)) for "every";
    #       both need the app and the clock as their nowfun.
    raise NotImplementedError


def next_runs(entry: dict[str, Any], after: str, count: int, timezone: str = "UTC") -> list[str]:
    """The next `count` times beat sends `entry` if it last ran at `after`, in `timezone`."""
    # TODO: step from run to run: set the clock to the last run, add remaining_estimate().
    raise NotImplementedError


def due_on_startup(
    entries: list[dict[str, Any]],
    now: str,
    timezone: str = "UTC",
    starting_deadline: int | None = None,
) -> list[str]:
    """Names of the entries beat sends at once when it starts at `now`, in the given order.

    Each entry carries "last_run_at" (an ISO string, or None for an entry that never ran).
    """
    # TODO: ask each entry's schedule is_due(last_run_at) with the clock set to `now`.
    raise NotImplementedError


def busiest_minute(
    entries: list[dict[str, Any]], day: str, timezone: str = "UTC"
) -> dict[str, Any]:
    """The minute of `day` (YYYY-MM-DD in `timezone`) in which the most crontab entries fire.

    Interval entries are skipped: they follow their last run, not the clock. Returns
    {"minute": "HH:MM", "entries": [names, sorted]}; a tie goes to the earliest minute.
    Raise ValueError when no crontab entry fires that day.
    """
    # TODO: collect every crontab run inside the day (00:00 included), grouped by "HH:MM".
    raise NotImplementedError
