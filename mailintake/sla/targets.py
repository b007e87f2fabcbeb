"""SLA targets: how long a clock may run, written the way the SLA states it.

A target is either an amount of open time ("8h", "30m", "1h30m" — counted only while the
calendar is open) or a number of working days ("1wd" = the end of service on the next working
day, "2wd" = the one after). Both are turned into one thing a clock can use: a budget of open
time, measured from the clock's start on its calendar (see `Target.budget`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailintake.sla.calendar import Calendar

_OPEN_TIME = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?")
_WORKING_DAYS = re.compile(r"(?P<wd>\d+)wd")
_HINT = (
    "write open time as hours and/or minutes like '8h', '30m' or '1h30m', "
    "or working days like '1wd' (end of service on the next working day)"
)


@dataclass(frozen=True)
class Target:
    """One SLA target: either `open_time` or `working_days` is set, never both."""

    text: str
    open_time: timedelta | None = None
    working_days: int | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """Parse "8h", "30m", "1h30m" or "2wd"; raise ValueError naming the fix otherwise."""
        if not isinstance(text, str):
            raise ValueError(f"bad duration {text!r}: {_HINT}")
        cleaned = text.strip().lower()
        if match := _WORKING_DAYS.fullmatch(cleaned):
            days = int(match["wd"])
            if days < 1:
                raise ValueError(f"bad duration {text!r}: working days must be at least '1wd'")
            return cls(text=cleaned, working_days=days)
        match = _OPEN_TIME.fullmatch(cleaned)
        if not cleaned or match is None:
            raise ValueError(f"bad duration {text!r}: {_HINT}")
        open_time = timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
        if open_time <= timedelta(0):
            raise ValueError(f"bad duration {text!r}: a target must be longer than zero")
        return cls(text=cleaned, open_time=open_time)

    def budget(self, calendar: Calendar, start: datetime) -> timedelta:
        """The open time this target allows for a clock that starts at `start`.

        For working days that is the open time from `start` to the end of service on the
        N-th working day, so pauses and category changes treat both kinds of target alike.
        """
        if self.open_time is not None:
            return self.open_time
        assert self.working_days is not None
        end = calendar.working_day_deadline(start, self.working_days)
        return calendar.open_time_between(start, end)

    def deadline(self, calendar: Calendar, start: datetime) -> datetime:
        """When this target is used up for a clock started at `start` and never paused."""
        return calendar.add_open_time(start, self.budget(calendar, start))

    def __str__(self) -> str:
        return self.text


KINDS: tuple[str, ...] = ("incident", "service_request", "change", "user_admin", "other")
CATEGORIES: tuple[str, ...] = ("CAT I", "CAT II", "CAT III")
CALAMITY = "CAT III"
_ROMAN = {"1": "I", "2": "II", "3": "III", "i": "I", "ii": "II", "iii": "III"}


def parse_category(text: str) -> str:
    """Normalise "CAT III", "CATIII", "cat 3" or "3" to "CAT III"; ValueError otherwise."""
    cleaned = text.strip().lower().replace("cat", "", 1).strip()
    if cleaned in _ROMAN:
        return f"CAT {_ROMAN[cleaned]}"
    raise ValueError(f"bad category {text!r}: use one of {', '.join(CATEGORIES)}")


def parse_target_key(text: str) -> str:
    """Normalise a key of a plan's `targets` table: a kind or a category."""
    if text.strip().lower() in KINDS:
        return text.strip().lower()
    try:
        return parse_category(text)
    except ValueError:
        raise ValueError(
            f"unknown target {text!r}: use a kind ({', '.join(KINDS)}) "
            f"or a category ({', '.join(CATEGORIES)})"
        ) from None
