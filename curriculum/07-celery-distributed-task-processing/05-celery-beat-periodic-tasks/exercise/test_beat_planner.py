import pytest
from beat_planner import busiest_minute, due_on_startup, next_runs

# Friday 27 March 2026, 10:07:30 UTC. Berlin moves its clocks forward on Sunday the 29th.
FRIDAY = "2026-03-27T10:07:30+00:00"


def test_a_nightly_crontab_fires_at_its_minute_every_day() -> None:
    runs = next_runs({"name": "nightly-invoices", "cron": "30 2 * * *"}, FRIDAY, 2)
    assert runs == ["2026-03-28T02:30:00+00:00", "2026-03-29T02:30:00+00:00"], (
        "'30 2 * * *' is 02:30 every day, in UTC when no timezone is given"
    )


def test_cron_strings_keep_cron_field_order() -> None:
    runs = next_runs({"name": "statements", "cron": "0 6 1 * *"}, FRIDAY, 2)
    assert runs == ["2026-04-01T06:00:00+00:00", "2026-05-01T06:00:00+00:00"], (
        "the third field of a cron string is the day of the MONTH; crontab()'s third positional "
        "argument is day_of_week, so splitting the string into crontab(*fields) runs on Mondays. "
        "Use crontab.from_string()."
    )


def test_weekday_runs_are_reported_in_the_schedule_time_zone() -> None:
    runs = next_runs({"name": "dunning", "cron": "0 9 * * 1-5"}, FRIDAY, 2, "Europe/Berlin")
    assert runs == ["2026-03-30T09:00:00+02:00", "2026-03-31T09:00:00+02:00"], (
        "the crontab's hours are Berlin hours when the app's timezone is Europe/Berlin, Friday "
        "11:07 has passed 09:00, the weekend is skipped, and Monday is already summer time (+02:00)"
    )


def test_a_run_in_the_skipped_hour_moves_past_the_gap() -> None:
    runs = next_runs(
        {"name": "nightly", "cron": "30 2 * * *"}, "2026-03-28T12:00:00+00:00", 2, "Europe/Berlin"
    )
    assert runs == ["2026-03-29T03:30:00+02:00", "2026-03-30T02:30:00+02:00"], (
        "02:30 does not exist in Berlin on 29 March 2026; Celery's crontab lands on 03:30 CEST"
    )


def test_an_interval_counts_from_the_last_run() -> None:
    runs = next_runs({"name": "refresh-rates", "every": 900}, FRIDAY, 3)
    assert runs == [
        "2026-03-27T10:22:30+00:00",
        "2026-03-27T10:37:30+00:00",
        "2026-03-27T10:52:30+00:00",
    ], "an interval is last run + every, not aligned to the clock's quarter hours"


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "both", "cron": "0 * * * *", "every": 60},
        {"name": "neither"},
        {"name": "zero", "every": 0},
        {"name": "feb-31", "cron": "0 6 31 2 *"},
    ],
    ids=["cron-and-every", "no-schedule", "zero-interval", "impossible-date"],
)
def test_a_malformed_entry_is_rejected(entry: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        next_runs(entry, FRIDAY, 1)


STORED = [
    {"name": "refresh-rates", "every": 900, "last_run_at": "2026-03-27T07:00:00+00:00"},
    {"name": "sync-ledger", "every": 900, "last_run_at": "2026-03-27T10:00:00+00:00"},
    {"name": "new-report", "every": 60, "last_run_at": None},
    {"name": "nightly-invoices", "cron": "30 2 * * *", "last_run_at": "2026-03-25T02:30:00+00:00"},
]


def test_overdue_entries_are_sent_once_at_startup_and_new_ones_wait() -> None:
    assert due_on_startup(STORED, FRIDAY) == ["refresh-rates", "nightly-invoices"], (
        "refresh-rates last ran 3 h ago and nightly-invoices missed two nights: both are due "
        "(once each, not once per missed run); sync-ledger ran 7.5 min ago; new-report never "
        "ran, and a new entry counts from now"
    )


def test_a_starting_deadline_skips_stale_crontab_runs_only() -> None:
    due = due_on_startup(STORED, FRIDAY, starting_deadline=3600)
    assert due == ["refresh-rates"], (
        "beat_cron_starting_deadline=3600 drops a crontab run that should have happened more "
        "than an hour ago (02:30); it does not apply to interval entries"
    )


def test_a_crontab_run_inside_the_deadline_is_still_sent() -> None:
    entries = [{"name": "hourly", "cron": "0 * * * *", "last_run_at": "2026-03-27T08:00:00+00:00"}]
    assert due_on_startup(entries, FRIDAY, starting_deadline=3600) == ["hourly"], (
        "the 10:00 run is 7.5 minutes late, inside a one-hour deadline, so it is sent"
    )


def test_the_busiest_minute_counts_every_crontab_firing_in_the_day() -> None:
    entries = [
        {"name": "nightly-invoices", "cron": "0 0 * * *"},
        {"name": "quarter-hourly-sync", "cron": "*/15 * * * *"},
        {"name": "hourly-rollup", "cron": "0 * * * *"},
        {"name": "morning-digest", "cron": "30 7 * * *"},
        {"name": "refresh-rates", "every": 60},
    ]
    assert busiest_minute(entries, "2026-03-27") == {
        "minute": "00:00",
        "entries": ["hourly-rollup", "nightly-invoices", "quarter-hourly-sync"],
    }, "three crontabs fire at 00:00 (midnight itself counts); the interval entry is skipped"


def test_the_busiest_minute_is_local_to_the_time_zone() -> None:
    entries = [
        {"name": "eu-close", "cron": "0 18 * * *"},
        {"name": "eu-settlement", "cron": "0 18 * * 1-5"},
        {"name": "noon-report", "cron": "0 12 * * *"},
    ]
    assert busiest_minute(entries, "2026-03-27", "Europe/Berlin") == {
        "minute": "18:00",
        "entries": ["eu-close", "eu-settlement"],
    }, "Friday 27 March is a weekday, so both 18:00 entries fire; minutes are Berlin minutes"


def test_a_day_with_no_crontab_firing_is_an_error() -> None:
    with pytest.raises(ValueError):
        busiest_minute([{"name": "refresh-rates", "every": 60}], "2026-03-27")
