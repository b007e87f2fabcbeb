"""Service windows: the "08:30-17:30" pieces a business calendar's week is made of.

A window is a span of local wall-clock time within one day, written "HH:MM-HH:MM"; "24:00" is
allowed as an end so a window can reach midnight. Windows never cross midnight (split them),
and the windows of one day must not overlap. Days are written "mon".."sun" or as a range such
as "mon-fri".
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")
_HINT = "write a window as 'HH:MM-HH:MM', e.g. '08:30-17:30'"


@dataclass(frozen=True, order=True)
class Window:
    """A span of one day in minutes after local midnight; `end` may be 1440 (24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock_text(self.start)}-{_clock_text(self.end)}"


def _clock_text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_window(text: object) -> Window:
    """Parse "08:30-17:30"; raise ValueError naming the fix for anything else."""
    if isinstance(text, Window):
        return text
    if not isinstance(text, str) or (match := _WINDOW.fullmatch(text.strip())) is None:
        raise ValueError(f"bad window {text!r}: {_HINT}")
    sh, sm, eh, em = (int(part) for part in match.groups())
    if sm > 59 or em > 59 or sh > 23 or eh > 24 or (eh == 24 and em != 0):
        raise ValueError(
            f"bad window {text!r}: hours run 00-23 (or 24:00 as an end), minutes 00-59"
        )
    window = Window(sh * 60 + sm, eh * 60 + em)
    if window.end <= window.start:
        raise ValueError(
            f"window {text!r} ends before it starts; a window cannot cross midnight, so split it "
            f"into '{_clock_text(window.start)}-24:00' on one day and "
            f"'00:00-{_clock_text(window.end)}' on the next"
        )
    return window


def check_no_overlap(windows: list[Window], where: str) -> tuple[Window, ...]:
    """Return the windows sorted; raise ValueError if two of them overlap."""
    ordered = sorted(windows)
    for before, after in itertools.pairwise(ordered):
        if after.start < before.end:
            raise ValueError(
                f"windows {before} and {after} on {where} overlap; merge them into one window"
            )
    return tuple(ordered)


def parse_days(key: str) -> list[int]:
    """Turn "mon", "sat-sun" or "mon-fri" into weekday numbers (Monday = 0)."""
    parts = [part.strip().lower() for part in key.split("-")]
    if len(parts) > 2 or any(part not in WEEKDAYS for part in parts):
        raise ValueError(
            f"bad day {key!r}: use one of {', '.join(WEEKDAYS)} or a range like 'mon-fri'"
        )
    first, last = WEEKDAYS.index(parts[0]), WEEKDAYS.index(parts[-1])
    if last < first:
        raise ValueError(
            f"bad day range {key!r}: a range runs forward within one week, e.g. 'mon-fri'"
        )
    return list(range(first, last + 1))
