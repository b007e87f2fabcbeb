"""Shared helpers for the SLA tests: Amsterdam times and calendars from inline TOML."""

from __future__ import annotations

import tomllib
from datetime import datetime
from zoneinfo import ZoneInfo

from mailintake.sla.calendar import BusinessCalendar, build_calendar
from mailintake.sla.settings import CalendarSettings, SlaSettings

AMS = ZoneInfo("Europe/Amsterdam")


def ams(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Amsterdam."""
    return datetime(year, month, day, hour, minute, tzinfo=AMS)


def calendar_from(toml: str, name: str = "test") -> BusinessCalendar:
    """A calendar from the body of a `[sla.calendars.NAME]` table."""
    settings = CalendarSettings.model_validate(tomllib.loads(toml))
    return build_calendar(name, settings, "Europe/Amsterdam")


def sla_from(toml: str) -> SlaSettings:
    """SlaSettings from a TOML document holding an `[sla]` section."""
    return SlaSettings.model_validate(tomllib.loads(toml)["sla"])


OFFICE = """
windows = { "mon-fri" = ["08:30-17:30"] }
holidays = { country = "NL", skip = ["Good Friday"] }
"""
