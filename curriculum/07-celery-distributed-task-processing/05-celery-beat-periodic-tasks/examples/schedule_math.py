"""When will beat send each entry? Ask the schedule objects, against a clock you control.

Every Celery schedule answers two questions: `remaining_estimate(last_run_at)` (how long from now
until the first run after `last_run_at`) and `is_due(last_run_at)` (send it now?, and in how many
seconds to ask again). Both read the time from `nowfun`, so a fixed clock turns months of schedule
into milliseconds of arithmetic. This is the arithmetic beat runs on every tick; no broker needed.
"""

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from celery import Celery
from celery.beat import ScheduleEntry
from celery.schedules import BaseSchedule, Cronspec, crontab, crontab_parser, schedule, solar

log = logging.getLogger("billing.schedule_math")
BERLIN = ZoneInfo("Europe/Berlin")
# Friday 27 March 2026, 10:07:30 UTC = 11:07:30 in Berlin. Clocks go forward on Sunday the 29th.
NOW = datetime(2026, 3, 27, 10, 7, 30, tzinfo=UTC)

app = Celery("schedule_math")
app.conf.update(timezone="Europe/Berlin")  # crontab fields are read in this zone (default: UTC)


class Clock:
    """A settable `nowfun`: every schedule below reads the time from CLOCK."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


CLOCK = Clock(NOW)


def on_clock(*fields: Cronspec, **named: Cronspec) -> crontab:
    """A crontab in the app's time zone that reads the time from CLOCK."""
    return crontab(*fields, **named, app=app, nowfun=CLOCK)


def cron(expression: str, target: Celery = app) -> crontab:
    """crontab.from_string() takes no app or nowfun, so attach them afterwards."""
    spec = crontab.from_string(expression)  # cron's field order: m h dom mon dow
    spec.app = target
    spec.nowfun = CLOCK  # type: ignore[attr-defined]  # the stubs misspell it `nowfunc`
    return spec


def upcoming(spec: BaseSchedule, start: datetime, count: int) -> list[datetime]:
    """The next `count` fire times after `start`, reached one run at a time as beat does."""
    fire_times: list[datetime] = []
    last_run_at = start
    for _ in range(count):
        CLOCK.now = last_run_at  # as if beat asked right after the previous run
        last_run_at = last_run_at + spec.remaining_estimate(last_run_at)
        fire_times.append(last_run_at)
    return fire_times


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).strftime("%a %d %b %H:%M %Z")


def show(label: str, spec: BaseSchedule, start: datetime = NOW, count: int = 3) -> None:
    print(f"   {label:<30} {', '.join(local(t) for t in upcoming(spec, start, count))}")


def crontab_fire_times() -> None:
    print("1. Crontab: the next runs after Fri 27 Mar 11:07:30 in Berlin")
    show("crontab(minute=30, hour=2)", on_clock(minute=30, hour=2))
    show("hour=9, day_of_week='mon-fri'", on_clock(minute=0, hour=9, day_of_week="mon-fri"))
    show("minute='*/15', hour='9-17'", on_clock(minute="*/15", hour="9-17"))
    show("hour=6, day_of_month=1", on_clock(minute=0, hour=6, day_of_month=1))
    show("from_string('0 7 28-31 * *')", cron("0 7 28-31 * *"), count=4)

    print("\n2. Positional arguments: minute, hour, day_of_WEEK, day_of_month, month_of_year")
    show("crontab(0, 6, 1)", on_clock(0, 6, 1), count=2)
    show("from_string('0 6 1 * *')", cron("0 6 1 * *"), count=2)
    every_other = sorted(crontab_parser(7).parse("*/2"))
    print(
        f"   day_of_week='*/2' means days {every_other} (Sun, Tue, Thu, Sat), not every other day"
    )

    print("\n3. Daylight saving time: 02:30 every night in Europe/Berlin")
    nightly = on_clock(minute=30, hour=2)
    show("spring forward (29 Mar)", nightly, datetime(2026, 3, 28, 12, tzinfo=UTC))
    show("fall back (25 Oct)", nightly, datetime(2026, 10, 24, 12, tzinfo=UTC))


def interval_is_due() -> None:
    print("\n4. Interval: is_due(last_run_at) for run_every=15 min at 11:07:30")
    CLOCK.now = NOW
    for relative in (False, True):
        every = schedule(timedelta(minutes=15), relative=relative, nowfun=CLOCK, app=app)
        for ago in (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=3)):
            due, next_check = every.is_due(NOW - ago)
            # If due, beat sends now and the entry's last_run_at becomes now.
            last_run_at = NOW if due else NOW - ago
            next_run = NOW + every.remaining_estimate(last_run_at)
            print(
                f"   relative={relative!s:<5} last run {ago} ago: is_due={due!s:<5} "
                f"ask again in {next_check:3.0f} s; next run {next_run.astimezone(BERLIN):%H:%M:%S}"
            )


def hourly_entry() -> ScheduleEntry:
    hourly = schedule(timedelta(hours=1), nowfun=CLOCK, app=app)
    return ScheduleEntry(name="sync-ledger", task="billing.sync_ledger", schedule=hourly, app=app)


def restarts() -> None:
    print("\n5. An hourly entry while deploys restart beat every 40 minutes, 08:00-16:00")
    start = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
    for label, file_survives in (("schedule file kept", True), ("schedule file lost", False)):
        CLOCK.now = start
        entry = hourly_entry()  # last_run_at defaults to "now"
        sent: list[str] = []
        for minute in range(8 * 60):  # beat's loop, one pass per simulated minute
            CLOCK.now = start + timedelta(minutes=minute)
            if minute % 40 == 0 and minute and not file_survives:
                entry = hourly_entry()  # a fresh process with no file starts counting again
            if entry.is_due()[0]:
                sent.append(f"{CLOCK.now.astimezone(BERLIN):%H:%M}")
                entry = next(entry)  # what beat's reserve() does: last_run_at = now, count + 1
        print(f"   {label:<19} sent {len(sent)} times: {', '.join(sent) or '-'}")

    print("\n6. A nightly 02:30 crontab whose last run was two days ago (beat was down)")
    CLOCK.now = NOW
    for deadline in (None, 3600):
        strict = Celery("schedule_math_deadline")
        strict.conf.update(timezone="Europe/Berlin", beat_cron_starting_deadline=deadline)
        due, next_check = crontab(minute=30, hour=2, app=strict, nowfun=CLOCK).is_due(
            NOW - timedelta(days=2)
        )
        print(
            f"   beat_cron_starting_deadline={deadline!s:<5} is_due={due!s:<5} "
            f"ask again in {timedelta(seconds=next_check)}"
        )


STOCKHOLM = ZoneInfo("Europe/Stockholm")
SolarEvent = Literal[
    "dawn_astronomical",
    "dawn_nautical",
    "dawn_civil",
    "sunrise",
    "solar_noon",
    "sunset",
    "dusk_civil",
    "dusk_nautical",
    "dusk_astronomical",
]


def on_clock_solar(event: SolarEvent, lat: float, lon: float) -> solar:
    """A solar schedule (celery[solar] installs the ephem package it needs) reading CLOCK."""
    return solar(event, lat, lon, app=app, nowfun=CLOCK)


def solar_schedule() -> None:
    print("\n7. Solar: events in Berlin (52.52 N, 13.405 E) after Fri 27 Mar 11:07:30")
    berlin_events: tuple[SolarEvent, ...] = ("sunrise", "solar_noon", "sunset", "dusk_civil")
    for event in berlin_events:
        show(event, on_clock_solar(event, 52.52, 13.405))

    sunset = on_clock_solar("sunset", 52.52, 13.405)
    CLOCK.now = NOW
    for label, last_run_at in (
        ("sunset, last run 06:00 today", datetime(2026, 3, 27, 5, 0, tzinfo=UTC)),
        ("sunset, last run 2 days ago", datetime(2026, 3, 25, 12, 0, tzinfo=UTC)),
    ):
        due, next_check = sunset.is_due(last_run_at)
        wait = timedelta(seconds=round(next_check))
        print(f"   {label:<30} is_due={due!s:<5} ask again in {wait}")

    print("\n   Stockholm (59.33 N) in summer: the search skips the days without the event")
    june = datetime(2026, 6, 1, tzinfo=UTC)
    dusks: tuple[SolarEvent, ...] = ("dusk_civil", "dusk_nautical", "dusk_astronomical")
    for event in dusks:
        first = upcoming(on_clock_solar(event, 59.33, 18.07), june, 1)[0]
        print(f"   {event:<30} first after 1 Jun: {first.astimezone(STOCKHOLM):%a %d %b %H:%M %Z}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    crontab_fire_times()
    interval_is_due()
    restarts()
    solar_schedule()


if __name__ == "__main__":
    main()
