"""Durations as people write them in mail and files: "20m", "1h", "1h30m", "1,5u"."""

from __future__ import annotations

import re
from datetime import timedelta

HOURS_MINUTES = re.compile(r"^\s*(?:(\d+)\s*[hu])?\s*(?:(\d+)\s*m(?:in)?)?\s*$", re.IGNORECASE)
DECIMAL_HOURS = re.compile(r"^\s*(\d+)[.,](\d+)\s*[hu]\s*$", re.IGNORECASE)


def parse_duration(text: str) -> timedelta:
    """A positive duration; ValueError that says how to write one."""
    decimal = DECIMAL_HOURS.match(text)
    if decimal:
        hours = float(f"{decimal.group(1)}.{decimal.group(2)}")
        duration = timedelta(minutes=round(hours * 60))
    else:
        found = HOURS_MINUTES.match(text)
        if not found or not any(found.groups()):
            raise ValueError(f'{text!r} is not a duration; write e.g. "45m", "2h" or "1h30m"')
        duration = timedelta(hours=int(found.group(1) or 0), minutes=int(found.group(2) or 0))
    if duration <= timedelta(0):
        raise ValueError(f"{text!r}: a duration must be longer than zero")
    return duration
