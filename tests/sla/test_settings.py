"""The [sla] config section: the example parses, and mistakes are named with their fix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from mailintake.sla.settings import SlaSettings, load_example
from mailintake.sla.targets import Target

from .support import sla_from

PLAN_BASE = """
[sla.calendars.office]
windows = { "mon-fri" = ["08:30-17:30"] }
"""


def test_example_parses_with_the_seed_table() -> None:
    settings = load_example()
    assert set(settings.plans) == {"premium", "standard", "none", "sla_a"}
    assert set(settings.calendars) == {"office", "calamity", "always"}
    premium, standard = settings.plans["premium"], settings.plans["standard"]
    assert premium.targets["CAT III"].response == Target.parse("2h")
    assert standard.targets["CAT II"].resolution == Target.parse("8h")
    assert standard.targets["service_request"].response == Target.parse("16h")
    assert settings.plans["none"].targets == {}
    assert settings.warning_thresholds == [0.75, 1.0]
    assert settings.calendars["always"].always_open


def test_empty_section_is_valid_and_has_defaults() -> None:
    settings = SlaSettings()
    assert settings.timezone == "Europe/Amsterdam"
    assert settings.plans == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8h", timedelta(hours=8)),
        ("30m", timedelta(minutes=30)),
        ("1h30m", timedelta(minutes=90)),
        (" 2H ", timedelta(hours=2)),
    ],
)
def test_open_time_targets(text: str, expected: timedelta) -> None:
    assert Target.parse(text).open_time == expected


def test_working_day_target() -> None:
    target = Target.parse("2wd")
    assert (target.working_days, target.open_time, str(target)) == (2, None, "2wd")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        pytest.param(
            '[sla.calendars.office]\nwindows = { mon = ["17:30-08:30"] }',
            r"cannot cross midnight.*'17:30-24:00'.*'00:00-08:30'",
            id="window-crossing-midnight",
        ),
        pytest.param(
            '[sla.calendars.office]\nwindows = { mon = ["8.30 to 17.30"] }',
            r"calendars\.office\.windows\.mon\.0[\s\S]*'HH:MM-HH:MM'",
            id="window-syntax",
        ),
        pytest.param(
            '[sla.calendars.office]\nwindows = { mon = ["08:30-25:00"] }',
            r"hours run 00-23",
            id="window-hour",
        ),
        pytest.param(
            "[sla.calendars.office]\n"
            'windows = { mon = ["08:00-12:00"], "mon-fri" = ["11:00-13:00"] }',
            r"08:00-12:00 and 11:00-13:00 on mon overlap",
            id="overlapping-windows",
        ),
        pytest.param(
            '[sla.calendars.office]\nwindows = { monday = ["08:30-17:30"] }',
            r"bad day 'monday'.*mon-fri",
            id="day-name",
        ),
        pytest.param(
            '[sla.calendars.office]\nwindows = { "fri-mon" = ["08:30-17:30"] }',
            r"runs forward",
            id="day-range",
        ),
        pytest.param(
            "[sla.calendars.office]\nholidays = { country = 'NL' }",
            r"needs windows",
            id="no-windows",
        ),
        pytest.param(
            '[sla.calendars.always]\nalways_open = true\nwindows = { mon = ["08:30-17:30"] }',
            r"always_open = true is open every minute; remove windows",
            id="always-open-with-windows",
        ),
        pytest.param(
            PLAN_BASE + "holiday_windows = ['08:30-12:00']",
            r"holiday_windows apply on public holidays; add holidays",
            id="holiday-windows-without-holidays",
        ),
        pytest.param(
            PLAN_BASE + "closed_days = [2026-12-24]\nopen_days = [2026-12-24]",
            r"2026-12-24 is in both open_days and closed_days",
            id="open-and-closed",
        ),
        pytest.param(
            PLAN_BASE + "holidays = { country = 'XX' }",
            r"unknown country 'XX'",
            id="country",
        ),
        pytest.param(
            PLAN_BASE + "holidays = { country = 'NL', skip = ['Goede Vrijdag'] }",
            r"no holiday 'Goede Vrijdag' in NL; known: .*good friday",
            id="holiday-name",
        ),
        pytest.param(
            PLAN_BASE + "holidays = { country = 'DE', liberation_day = 'yearly' }",
            r"liberation_day applies to country 'NL' only",
            id="liberation-day-abroad",
        ),
        pytest.param(
            PLAN_BASE + "open_days = [2026-03-07]",
            r"2026-03-07 is a sat, which has no windows",
            id="open-day-without-windows",
        ),
        pytest.param(
            PLAN_BASE + "timezone = 'Europe/Amsterdm'",
            r"unknown time zone 'Europe/Amsterdm'.*IANA",
            id="timezone",
        ),
        pytest.param(
            PLAN_BASE + "colour = 'blue'",
            r"calendars\.office\.colour[\s\S]*Extra inputs are not permitted",
            id="unknown-key",
        ),
        pytest.param(
            PLAN_BASE + "[sla.plans.premium]\ncalendar = 'ofice'",
            r"plans\.premium\.calendar: unknown calendar 'ofice'"
            r".*\[sla\.calendars\.ofice\].*office",
            id="unknown-calendar",
        ),
        pytest.param(
            PLAN_BASE + "[sla.plans.premium]\ncalendar = 'office'\ncalamity_calendar = 'calamity'",
            r"plans\.premium\.calamity_calendar: unknown calendar 'calamity'",
            id="unknown-calamity-calendar",
        ),
        pytest.param(
            PLAN_BASE + "[sla.plans.premium.targets]\n'CAT I' = { response = '8h' }",
            r"plans\.premium: targets need a calendar",
            id="targets-without-calendar",
        ),
        pytest.param(
            PLAN_BASE
            + "[sla.plans.p]\ncalendar = 'office'\ntargets.incident = { response = '8 hours' }",
            r"targets\.incident\.response[\s\S]*bad duration '8 hours'.*'8h'.*'1wd'",
            id="bad-duration",
        ),
        pytest.param(
            PLAN_BASE
            + "[sla.plans.p]\ncalendar = 'office'\ntargets.incident = { response = '0h' }",
            r"longer than zero",
            id="zero-duration",
        ),
        pytest.param(
            PLAN_BASE + "[sla.plans.p]\ncalendar = 'office'\ntargets.CAT4 = { response = '1h' }",
            r"unknown target 'CAT4'.*service_request.*CAT III",
            id="unknown-target-key",
        ),
        pytest.param(
            PLAN_BASE + "[sla.plans.p]\ncalendar = 'office'\ntargets.incident = { respond = '1h' }",
            r"targets\.incident\.respond[\s\S]*Extra inputs",
            id="unknown-target-field",
        ),
        pytest.param(
            "warning_thresholds = [0.75, 0]",
            r"fractions of the target above 0",
            id="threshold",
        ),
    ],
)
def test_mistakes_are_named_with_their_fix(toml: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        sla_from("[sla]\n" + toml)


def test_category_keys_are_normalised() -> None:
    settings = sla_from(
        "[sla]\n" + PLAN_BASE + "[sla.plans.p]\ncalendar = 'office'\n"
        "targets.CATIII = { response = '2h' }\ntargets.'cat 2' = { response = '4h' }"
    )
    assert set(settings.plans["p"].targets) == {"CAT III", "CAT II"}


def test_thresholds_are_sorted_and_unique() -> None:
    assert SlaSettings(warning_thresholds=[1.0, 0.5, 1.0]).warning_thresholds == [0.5, 1.0]
