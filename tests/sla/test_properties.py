"""Properties of deadlines that must hold for any start, target and pause (hypothesis).

Starts range over 2025-2027, so they cross holidays and both daylight-saving changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mailintake.sla.calendar import Calendar
from mailintake.sla.clock import Clock, ClockAction, ClockChange
from mailintake.sla.deadlines import ServiceLevels
from mailintake.sla.settings import load_example
from mailintake.sla.targets import Target

from .support import AMS, calendar_from

LEVELS = ServiceLevels.from_settings(load_example())
OFFICE = LEVELS.calendars["office"]
CALENDARS: dict[str, Calendar] = {
    "office": OFFICE,
    "office+calamity": OFFICE.union(LEVELS.calendars["calamity"]),
    "split": calendar_from(
        'windows = { "mon-thu" = ["08:00-12:00", "13:00-17:00"], fri = ["09:00-12:00"], '
        'sun = ["00:00-04:00", "22:00-24:00"] }\nholidays.country = "NL"\n'
        "closed_days = [2026-07-01]"
    ),
    "always": LEVELS.calendars["always"],
}
US = timedelta(microseconds=1)


def utc(at: datetime) -> datetime:
    # Python compares and subtracts datetimes sharing a tzinfo by wall clock, ignoring the
    # offset; in UTC the answers hold across the autumn change too.
    return at.astimezone(UTC)


calendars = st.sampled_from(sorted(CALENDARS)).map(CALENDARS.__getitem__)
# Aware Amsterdam times; the tests do arithmetic and comparisons on them in UTC (see `utc`).
starts = st.datetimes(
    min_value=datetime(2025, 1, 1),
    max_value=datetime(2027, 12, 1),
    timezones=st.just(AMS),
    allow_imaginary=False,
)
open_times = st.integers(min_value=1, max_value=60 * 60).map(lambda m: timedelta(minutes=m))
targets = st.one_of(
    open_times.map(lambda d: Target.parse(f"{d // timedelta(minutes=1)}m")),
    st.integers(min_value=1, max_value=5).map(lambda n: Target.parse(f"{n}wd")),
)
quick = settings(max_examples=150, deadline=None)


@quick
@given(calendar=calendars, start=starts, duration=open_times)
def test_deadline_is_never_inside_a_closed_period(
    calendar: Calendar, start: datetime, duration: timedelta
) -> None:
    deadline = utc(calendar.add_open_time(start, duration))
    assert deadline > utc(start)
    assert calendar.is_open(deadline - US)  # the last moment counted was open
    assert calendar.open_time_between(start, deadline) == duration


@quick
@given(calendar=calendars, start=starts, target=targets)
def test_working_day_and_hour_deadlines_end_in_open_time(
    calendar: Calendar, start: datetime, target: Target
) -> None:
    deadline = utc(target.deadline(calendar, start))
    assert calendar.is_open(deadline - US)


@quick
@given(calendar=calendars, start=starts, later=open_times, target=targets)
def test_deadline_is_monotonic_in_start(
    calendar: Calendar, start: datetime, later: timedelta, target: Target
) -> None:
    later_start = utc(start) + later
    assert utc(target.deadline(calendar, start)) <= utc(target.deadline(calendar, later_start))


@quick
@given(calendar=calendars, start=starts, shorter=open_times, extra=open_times)
def test_deadline_is_monotonic_in_target(
    calendar: Calendar, start: datetime, shorter: timedelta, extra: timedelta
) -> None:
    longer = shorter + extra
    assert utc(calendar.add_open_time(start, shorter)) <= utc(calendar.add_open_time(start, longer))


@quick
@given(calendar=calendars, start=starts, n=st.integers(min_value=1, max_value=4))
def test_more_working_days_is_later(calendar: Calendar, start: datetime, n: int) -> None:
    assert utc(calendar.working_day_deadline(start, n)) < utc(
        calendar.working_day_deadline(start, n + 1)
    )


@quick
@given(
    calendar=calendars,
    start=starts,
    duration=open_times,
    pause_at=st.floats(min_value=0, max_value=1, exclude_max=True),
    pause_length=st.integers(min_value=0, max_value=7 * 24 * 60).map(
        lambda m: timedelta(minutes=m)
    ),
)
def test_pause_of_p_open_hours_moves_the_deadline_by_p_open_hours(
    calendar: Calendar,
    start: datetime,
    duration: timedelta,
    pause_at: float,
    pause_length: timedelta,
) -> None:
    target = Target(text="test", open_time=duration)
    unpaused = Clock.from_changes([ClockChange(start, ClockAction.START)], target, calendar)
    before = unpaused.deadline()
    assert before is not None
    before = utc(before)
    # A pause that begins while the clock runs: between the start and the old deadline.
    pause_start = utc(start) + (before - utc(start)) * pause_at
    assume(pause_start < before)  # float rounding may land it on the deadline itself
    pause_end = pause_start + pause_length
    paused = Clock.from_changes(
        [
            ClockChange(start, ClockAction.START),
            ClockChange(pause_start, ClockAction.PAUSE),
            ClockChange(pause_end, ClockAction.RESUME),
        ],
        target,
        calendar,
    )
    after = paused.deadline()
    assert after is not None
    paused_open = calendar.open_time_between(pause_start, pause_end)
    assert calendar.open_time_between(before, after) == paused_open
    assert utc(after) >= before


def _walk_minutes(calendar: Calendar, start: datetime, minutes: int) -> datetime:
    # Oracle: a minute-by-minute walk asking only which windows apply on the local date.
    t = start
    while minutes:
        local = t.astimezone(AMS)
        minute_of_day = local.hour * 60 + local.minute
        windows = calendar.windows_on(local.date())  # type: ignore[attr-defined]
        if any(w.start <= minute_of_day < w.end for w in windows):
            minutes -= 1
        t += timedelta(minutes=1)
    return t


@settings(max_examples=40, deadline=None)
@given(
    start=st.datetimes(
        min_value=datetime(2025, 12, 20), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ).map(lambda t: t.replace(second=0, microsecond=0)),
    minutes=st.integers(min_value=1, max_value=20 * 60),
)
def test_agrees_with_a_minute_by_minute_walk(start: datetime, minutes: int) -> None:
    for name in ("office", "split"):
        calendar = CALENDARS[name]
        expected = _walk_minutes(calendar, start, minutes)
        # In UTC: an ambiguous autumn time never equals a time in another zone (PEP 495).
        assert utc(calendar.add_open_time(start, timedelta(minutes=minutes))) == expected
