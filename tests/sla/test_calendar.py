"""Business calendars: service hours, holidays, daylight saving, working days, 24x7."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from mailintake.sla.calendar import BusinessCalendar, format_holidays
from mailintake.sla.deadlines import ServiceLevels
from mailintake.sla.targets import Target

from .support import AMS, OFFICE, ams, calendar_from

H = timedelta(hours=1)


def test_seed_example_monday_1600_plus_8h_is_tuesday_1500(office: BusinessCalendar) -> None:
    # 1.5 h left on Monday, 6.5 h on Tuesday.
    assert office.add_open_time(ams(2026, 3, 2, 16), 8 * H) == ams(2026, 3, 3, 15)


@pytest.mark.parametrize(
    ("reported", "due"),
    [
        pytest.param(ams(2026, 3, 7, 10), ams(2026, 3, 9, 16, 30), id="saturday"),
        pytest.param(ams(2026, 3, 9, 7), ams(2026, 3, 9, 16, 30), id="before-opening"),
        pytest.param(ams(2026, 3, 9, 18), ams(2026, 3, 10, 16, 30), id="after-closing"),
        pytest.param(ams(2026, 3, 9, 17, 30), ams(2026, 3, 10, 16, 30), id="at-closing"),
        pytest.param(ams(2026, 3, 9, 8, 30), ams(2026, 3, 9, 16, 30), id="at-opening"),
    ],
)
def test_report_outside_hours_counts_from_next_opening(
    office: BusinessCalendar, reported: datetime, due: datetime
) -> None:
    assert office.add_open_time(reported, 8 * H) == due


def test_deadline_at_closing_stays_at_closing(office: BusinessCalendar) -> None:
    assert office.add_open_time(ams(2026, 3, 2, 9, 30), 8 * H) == ams(2026, 3, 2, 17, 30)


@pytest.mark.parametrize(
    ("reported", "due", "offset_hours"),
    [
        pytest.param(ams(2026, 3, 27, 16), ams(2026, 3, 30, 15), 2, id="spring-2026-03-29"),
        pytest.param(ams(2026, 10, 23, 16), ams(2026, 10, 26, 15), 1, id="autumn-2026-10-25"),
    ],
)
def test_service_hours_keep_wall_clock_across_dst(
    office: BusinessCalendar, reported: datetime, due: datetime, offset_hours: int
) -> None:
    deadline = office.add_open_time(reported, 8 * H)
    assert deadline == due
    assert deadline.utcoffset() == timedelta(hours=offset_hours)
    assert office.open_intervals(ams(2026, 3, 30), ams(2026, 3, 31))[0][0].hour == 8


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        pytest.param(ams(2026, 3, 29), 2, id="spring-night-lacks-an-hour"),
        pytest.param(ams(2026, 10, 25), 4, id="autumn-night-repeats-an-hour"),
        pytest.param(ams(2026, 3, 22), 3, id="ordinary-sunday"),
    ],
)
def test_night_window_over_the_switch_counts_real_time(day: datetime, hours: int) -> None:
    night = calendar_from('windows = { sun = ["01:00-04:00"] }')
    assert night.open_time_between(day, day + timedelta(days=1)) == hours * H


@pytest.mark.parametrize(
    ("start", "due"),
    [
        pytest.param(ams(2026, 3, 28, 12), ams(2026, 3, 29, 13), id="spring"),
        pytest.param(ams(2026, 10, 24, 12), ams(2026, 10, 25, 11), id="autumn"),
    ],
)
def test_always_open_counts_elapsed_time(start: datetime, due: datetime) -> None:
    always = calendar_from("always_open = true")
    assert always.add_open_time(start, 24 * H) == due
    assert always.open_time_between(start, due) == 24 * H
    assert always.is_open(ams(2026, 12, 25, 3))


def test_full_days_join_into_one_stretch() -> None:
    week = calendar_from('windows = { "mon-sun" = ["00:00-24:00"] }')
    start = ams(2026, 3, 28, 12)
    assert week.add_open_time(start, 24 * H) == ams(2026, 3, 29, 13)
    assert week.open_intervals(start, ams(2026, 3, 30)) == [(start, ams(2026, 3, 30))]


def test_several_windows_a_day() -> None:
    split = calendar_from('windows = { "mon-fri" = ["08:30-12:00", "13:00-17:30"] }')
    assert split.add_open_time(ams(2026, 3, 2, 11), 2 * H) == ams(2026, 3, 2, 14)
    assert not split.is_open(ams(2026, 3, 2, 12, 30))
    assert split.next_open(ams(2026, 3, 2, 12, 30)) == ams(2026, 3, 2, 13)


@pytest.mark.parametrize(
    ("reported", "due"),
    [
        # Easter Monday 2026-04-06 is closed; Good Friday 2026-04-03 is worked (skipped).
        pytest.param(ams(2026, 4, 3, 16), ams(2026, 4, 7, 15), id="easter-monday"),
        pytest.param(ams(2026, 4, 2, 16), ams(2026, 4, 3, 15), id="good-friday-worked"),
        # King's Day, Monday 2026-04-27.
        pytest.param(ams(2026, 4, 24, 16), ams(2026, 4, 28, 15), id="kings-day"),
        # Christmas Day and Second Day of Christmas 2026 are Friday and Saturday.
        pytest.param(ams(2026, 12, 24, 16), ams(2026, 12, 28, 15), id="christmas"),
        # Ascension Day, Thursday 2026-05-14.
        pytest.param(ams(2026, 5, 13, 16), ams(2026, 5, 15, 15), id="ascension"),
    ],
)
def test_dutch_holidays_close_the_office(
    office: BusinessCalendar, reported: datetime, due: datetime
) -> None:
    assert office.add_open_time(reported, 8 * H) == due


def test_good_friday_closes_when_not_skipped() -> None:
    strict = calendar_from('windows = { "mon-fri" = ["08:30-17:30"] }\nholidays.country = "NL"')
    assert strict.add_open_time(ams(2026, 4, 2, 16), 8 * H) == ams(2026, 4, 7, 15)
    assert not strict.is_open(ams(2026, 4, 3, 10))


def test_kings_day_moves_to_the_26th_when_the_27th_is_a_sunday() -> None:
    shop = calendar_from('windows = { "mon-sat" = ["09:00-17:00"] }\nholidays.country = "NL"')
    kings_days = [h.day for h in shop.holidays_for(2025) if h.name == "King's Day"]
    assert [d.isoformat() for d in kings_days] == ["2025-04-26"]
    assert not shop.is_open(ams(2025, 4, 26, 10))  # Saturday, King's Day
    assert shop.is_open(ams(2025, 4, 19, 10))  # an ordinary Saturday
    assert [h.day.day for h in shop.holidays_for(2026) if h.name == "King's Day"] == [27]


@pytest.mark.parametrize(
    ("setting", "closed_2025", "closed_2026"),
    [
        pytest.param("", True, False, id="lustrum-by-default"),
        pytest.param('liberation_day = "yearly"', True, True, id="yearly"),
        pytest.param('liberation_day = "never"', False, False, id="never"),
    ],
)
def test_liberation_day_toggle(setting: str, closed_2025: bool, closed_2026: bool) -> None:
    office = calendar_from(
        f'windows = {{ "mon-fri" = ["08:30-17:30"] }}\n[holidays]\ncountry = "NL"\n{setting}'
    )
    assert office.is_open(ams(2025, 5, 5, 10)) is not closed_2025  # a Monday
    assert office.is_open(ams(2026, 5, 5, 10)) is not closed_2026  # a Tuesday


def test_closed_and_open_days() -> None:
    office = calendar_from(OFFICE + 'closed_days = [2026-12-24]\nopen_days = ["2026-04-06"]')
    assert not office.is_open(ams(2026, 12, 24, 10))
    assert office.add_open_time(ams(2026, 12, 23, 16), 8 * H) == ams(2026, 12, 28, 15)
    assert office.is_open(ams(2026, 4, 6, 10))  # Easter Monday, opened by config
    assert office.is_open(ams(2026, 4, 3, 10))  # Good Friday, skipped


def test_holiday_windows_replace_the_weekday_windows() -> None:
    calamity = calendar_from(
        'windows = { "mon-fri" = ["07:30-08:30"] }\nholiday_windows = ["08:30-12:00"]\n'
        'holidays.country = "NL"'
    )
    easter_monday = ams(2026, 4, 6)
    assert calamity.open_intervals(easter_monday, easter_monday + timedelta(days=1)) == [
        (ams(2026, 4, 6, 8, 30), ams(2026, 4, 6, 12))
    ]


@pytest.mark.parametrize(
    ("reported", "days", "due"),
    [
        pytest.param(ams(2026, 3, 2, 12), 1, ams(2026, 3, 3, 17, 30), id="monday-noon-1wd"),
        pytest.param(ams(2026, 3, 2, 12), 2, ams(2026, 3, 4, 17, 30), id="monday-noon-2wd"),
        pytest.param(ams(2026, 3, 6, 12), 1, ams(2026, 3, 9, 17, 30), id="friday-1wd"),
        pytest.param(ams(2026, 3, 7, 10), 1, ams(2026, 3, 10, 17, 30), id="saturday-1wd"),
        pytest.param(ams(2026, 3, 9, 7), 1, ams(2026, 3, 10, 17, 30), id="before-opening"),
        pytest.param(ams(2026, 3, 9, 17, 30), 1, ams(2026, 3, 11, 17, 30), id="at-closing"),
        pytest.param(ams(2026, 4, 3, 12), 1, ams(2026, 4, 7, 17, 30), id="over-easter-monday"),
        pytest.param(ams(2026, 3, 27, 12), 1, ams(2026, 3, 30, 17, 30), id="over-dst"),
    ],
)
def test_working_day_targets(
    office: BusinessCalendar, reported: datetime, days: int, due: datetime
) -> None:
    assert office.working_day_deadline(reported, days) == due
    assert Target.parse(f"{days}wd").deadline(office, reported) == due


def test_working_days_on_a_24x7_calendar_end_at_midnight() -> None:
    always = calendar_from("always_open = true")
    assert always.working_day_deadline(ams(2026, 3, 2, 12), 1) == ams(2026, 3, 4)


def test_union_with_calamity_hours(levels: ServiceLevels) -> None:
    both = levels.calendars["office"].union(levels.calendars["calamity"])
    # 07:30-08:30 calamity and 08:30-17:30 office join into one stretch.
    assert both.open_intervals(ams(2026, 3, 2), ams(2026, 3, 3)) == [
        (ams(2026, 3, 2, 7, 30), ams(2026, 3, 2, 17, 30))
    ]
    assert both.add_open_time(ams(2026, 3, 8, 11, 30), 2 * H) == ams(2026, 3, 9, 9)


def test_results_are_in_the_calendar_zone(office: BusinessCalendar) -> None:
    deadline = office.add_open_time(datetime(2026, 3, 2, 15, tzinfo=UTC), 8 * H)
    assert deadline.tzinfo == AMS
    assert deadline == ams(2026, 3, 3, 15)


@pytest.mark.parametrize(
    "call",
    [
        lambda cal, naive: cal.is_open(naive),
        lambda cal, naive: cal.next_open(naive),
        lambda cal, naive: cal.add_open_time(naive, H),
        lambda cal, naive: cal.open_time_between(naive, ams(2026, 3, 3)),
        lambda cal, naive: cal.working_day_deadline(naive, 1),
    ],
)
def test_naive_datetimes_are_rejected(
    office: BusinessCalendar, call: Callable[[BusinessCalendar, datetime], object]
) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        call(office, datetime(2026, 3, 2, 16))


def test_format_holidays_lists_observed_and_worked_days(office: BusinessCalendar) -> None:
    text = format_holidays(office, 2027)
    assert text.splitlines()[0] == "Holidays 2027 for calendar 'office' (NL, Europe/Amsterdam)"
    assert "2027-03-26 Fri  Good Friday" in text and "open (skipped in config)" in text
    assert "2027-04-27 Tue  King's Day" in text
    assert "Liberation Day" in text and "not a lustrum year" in text
    assert "2027-12-25 Sat  Christmas Day" in text
    king = next(line for line in text.splitlines() if "King's Day" in line)
    assert king.endswith("closed")


def test_holidays_for_includes_closed_days() -> None:
    office = calendar_from(OFFICE + "closed_days = [2026-12-24, 2027-01-02]")
    days = [(h.day.isoformat(), h.observed) for h in office.holidays_for(2026)]
    assert ("2026-12-24", True) in days and ("2026-04-03", False) in days
    assert all(not d.startswith("2027") for d, _ in days)


def test_deadline_in_the_repeated_autumn_hour_is_the_right_instant() -> None:
    night = calendar_from('windows = { sun = ["01:00-04:00"] }')
    start = ams(2026, 10, 25, 1)  # 01:00 summer time, 23:00 UTC the day before
    first = night.add_open_time(start, 1.5 * H)
    second = night.add_open_time(start, 2.5 * H)
    assert first.isoformat() == "2026-10-25T02:30:00+02:00"
    assert second.isoformat() == "2026-10-25T02:30:00+01:00"
    assert second.astimezone(UTC) - first.astimezone(UTC) == H


def test_union_with_an_always_open_calendar_is_always_open(office: BusinessCalendar) -> None:
    anything = office.union(calendar_from("always_open = true"))
    assert anything.add_open_time(ams(2026, 3, 7, 10), 30 * 24 * H) == ams(2026, 4, 6, 11)
    assert anything.open_time_between(ams(2026, 3, 1), ams(2026, 3, 15)) == 14 * 24 * H
