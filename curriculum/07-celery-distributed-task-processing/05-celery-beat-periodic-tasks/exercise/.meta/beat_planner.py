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

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from celery import Celery
from celery.schedules import BaseSchedule, crontab, schedule


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
    if ("cron" in entry) == ("every" in entry):
        raise ValueError(f"entry {entry.get('name')!r} needs exactly one of 'cron' and 'every'")
    app = Celery("beat_planner")
    app.conf.update(timezone=timezone, beat_cron_starting_deadline=starting_deadline)
    if "cron" in entry:
        spec = crontab.from_string(entry["cron"])  # keeps cron's field order
        spec.app = app
        spec.nowfun = clock  # type: ignore[attr-defined]  # the stubs call it `nowfunc`
        return spec
    every = float(entry["every"])
    if every <= 0:
        raise ValueError(f"entry {entry.get('name')!r}: 'every' must be positive, not {every}")
    return schedule(timedelta(seconds=every), nowfun=clock, app=app)


def next_runs(entry: dict[str, Any], after: str, count: int, timezone: str = "UTC") -> list[str]:
    """The next `count` times beat sends `entry` if it last ran at `after`, in `timezone`."""
    start = datetime.fromisoformat(after)
    clock = FixedClock(start)
    spec = build_schedule(entry, clock, timezone)
    zone = ZoneInfo(timezone)
    runs: list[str] = []
    last_run_at = start
    for _ in range(count):
        clock.now = last_run_at
        last_run_at = last_run_at + spec.remaining_estimate(last_run_at)
        runs.append(last_run_at.astimezone(zone).isoformat())
    return runs


def due_on_startup(
    entries: list[dict[str, Any]],
    now: str,
    timezone: str = "UTC",
    starting_deadline: int | None = None,
) -> list[str]:
    """Names of the entries beat sends at once when it starts at `now`, in the given order.

    Each entry carries "last_run_at" (an ISO string, or None for an entry that never ran).
    """
    clock = FixedClock(datetime.fromisoformat(now))
    due: list[str] = []
    for entry in entries:
        if entry.get("last_run_at") is None:
            continue  # a new entry counts from now, like beat's own default
        spec = build_schedule(entry, clock, timezone, starting_deadline)
        if spec.is_due(datetime.fromisoformat(entry["last_run_at"])).is_due:
            due.append(entry["name"])
    return due


def busiest_minute(
    entries: list[dict[str, Any]], day: str, timezone: str = "UTC"
) -> dict[str, Any]:
    """The minute of `day` (YYYY-MM-DD in `timezone`) in which the most crontab entries fire.

    Interval entries are skipped: they follow their last run, not the clock. Returns
    {"minute": "HH:MM", "entries": [names, sorted]}; a tie goes to the earliest minute.
    Raise ValueError when no crontab entry fires that day.
    """
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(timezone))
    end = start + timedelta(days=1)
    just_before = (start - timedelta(microseconds=1)).isoformat()  # so 00:00 itself counts
    firing: dict[str, list[str]] = {}
    for entry in entries:
        if "cron" not in entry:
            continue
        for run in next_runs(entry, just_before, 24 * 60 + 1, timezone):
            moment = datetime.fromisoformat(run)
            if moment >= end:
                break
            firing.setdefault(f"{moment:%H:%M}", []).append(entry["name"])
    if not firing:
        raise ValueError(f"no crontab entry fires on {day}")
    most = max(len(names) for names in firing.values())
    minute = min(minute for minute, names in firing.items() if len(names) == most)
    return {"minute": minute, "entries": sorted(firing[minute])}
