"""Dates, times, durations and percentages written the way a Dutch or English reader expects.

Templates use these as filters (`{{ response_due|when }}` gives "dinsdag 3 maart 2026 om
15:00"). Names of days and months are spelled out here rather than taken from the C locale,
which on a server is rarely Dutch and would make the wording depend on the machine. Times are
shown in the desk's zone, whatever zone the caller's datetime is in.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

LANGUAGES: tuple[str, ...] = ("nl", "en")

_WEEKDAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "nl": (
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
_AT = {"nl": "om", "en": "at"}
# (singular, plural) per unit
_UNITS = {
    "nl": {"day": ("dag", "dagen"), "hour": ("uur", "uur"), "minute": ("minuut", "minuten")},
    "en": {"day": ("day", "days"), "hour": ("hour", "hours"), "minute": ("minute", "minutes")},
}
_AND = {"nl": "en", "en": "and"}


def normalize_language(language: str | None, default: str = "nl") -> str:
    """ "nl", "en" from tags like "nl-NL" or "EN_gb"; anything else gives `default`."""
    if language:
        primary = language.strip().lower().replace("_", "-").split("-")[0]
        if primary in LANGUAGES:
            return primary
    return default


def _local(at: datetime, zone: tzinfo) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        # A naive time in a customer's mail would be a guess about its zone; refuse it.
        raise ValueError(f"{at.isoformat()} has no time zone; give the template an aware datetime")
    return at.astimezone(zone)


def format_date(at: datetime, language: str, zone: tzinfo) -> str:
    """ "dinsdag 3 maart 2026" / "Tuesday 3 March 2026"."""
    local = _local(at, zone)
    weekday = _WEEKDAYS[language][local.weekday()]
    return f"{weekday} {local.day} {_MONTHS[language][local.month - 1]} {local.year}"


def format_time(at: datetime, language: str, zone: tzinfo) -> str:
    """ "15:00", 24-hour clock in both languages (as Dutch and British business mail write)."""
    return _local(at, zone).strftime("%H:%M")


def format_when(at: datetime, language: str, zone: tzinfo) -> str:
    """ "dinsdag 3 maart 2026 om 15:00" / "Tuesday 3 March 2026 at 15:00"."""
    return f"{format_date(at, language, zone)} {_AT[language]} {format_time(at, language, zone)}"


def format_duration(duration: timedelta, language: str) -> str:
    """ "1 uur en 30 minuten" / "1 hour and 30 minutes"; whole minutes, rounded up."""
    minutes = -(-int(duration.total_seconds()) // 60)
    if minutes < 0:
        raise ValueError(f"a duration cannot be negative: {duration}")
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = _UNITS[language]
    parts = [
        f"{count} {units[unit][0] if count == 1 else units[unit][1]}"
        for count, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if count
    ]
    if not parts:
        return f"0 {units['minute'][1]}"
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {_AND[language]} {parts[-1]}"


def format_percent(fraction: float) -> str:
    """0.75 → "75%"."""
    return f"{round(fraction * 100)}%"
