"""Business calendars: when the desk is open, and how much open time lies between two moments.

A `BusinessCalendar` is weekly wall-clock windows in a time zone, closed on observed public
holidays (unless it has holiday windows) and on extra closed days, open on extra open days, or
simply open 24x7. `CalendarUnion` joins calendars (office hours plus calamity service for CAT
III). Every question is answered from one primitive, the stream of open intervals after a
moment, computed day by day in UTC so that windows keep their wall-clock times across daylight
saving changes and arithmetic is never fooled by two aware datetimes sharing a tzinfo. Inputs
must be aware datetimes (naive ones raise ValueError); outputs are in the calendar's zone, so
compare or subtract them after `.astimezone(UTC)`: Python compares two times of one zone by
wall clock, and a time in the repeated autumn hour never equals a time in another zone.
"""

from __future__ import annotations

import heapq
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailintake.sla.public_holidays import Holiday, HolidayRules
from mailintake.sla.settings import CalendarSettings
from mailintake.sla.windows import WEEKDAYS, Window

Interval = tuple[datetime, datetime]
# A calendar with no open time for this long is misconfigured; stop instead of looping forever.
_MAX_CLOSED_DAYS = 400
_DAY = timedelta(days=1)
_STRETCH = timedelta(days=7)


def to_utc(at: datetime, what: str = "time") -> datetime:
    """`at` in UTC; ValueError for a naive datetime, whose meaning would be a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} {at.isoformat()} has no time zone; give an aware datetime")
    return at.astimezone(UTC)


class Calendar(ABC):
    """What every calendar answers, built on `_intervals_from`."""

    name: str
    zone: ZoneInfo

    @abstractmethod
    def _intervals_from(self, at: datetime) -> Iterator[Interval]:
        """Open intervals in UTC after `at` (UTC): ordered, disjoint, joined where they touch
        (a week at a stretch at most), the first clipped to start at `at`. Endless."""

    def is_open(self, at: datetime) -> bool:
        """Whether the calendar is open at `at` (an interval's start is open, its end is not)."""
        at = to_utc(at)
        return next(self._intervals_from(at))[0] == at

    def next_open(self, at: datetime) -> datetime:
        """`at` itself if open, else the next opening."""
        return next(self._intervals_from(to_utc(at)))[0].astimezone(self.zone)

    def open_intervals(self, start: datetime, end: datetime) -> list[Interval]:
        """The open intervals within [start, end), in the calendar's zone."""
        intervals = _clip(self._intervals_from(to_utc(start, "start")), to_utc(end, "end"))
        return [(s.astimezone(self.zone), e.astimezone(self.zone)) for s, e in _coalesce(intervals)]

    def open_time_between(
        self, start: datetime, end: datetime, excluding: Sequence[Interval] = ()
    ) -> timedelta:
        """Open time within [start, end), less any of it inside the `excluding` intervals."""
        start, end = to_utc(start, "start"), to_utc(end, "end")
        intervals = _minus(self._intervals_from(start), _normalise(excluding))
        return sum((e - s for s, e in _clip(intervals, end)), timedelta(0))

    def add_open_time(
        self, start: datetime, duration: timedelta, excluding: Sequence[Interval] = ()
    ) -> datetime:
        """The earliest moment by which `duration` of open time has passed since `start`,
        not counting open time inside `excluding` (pauses). Zero gives `start` back."""
        start = to_utc(start, "start")
        if duration < timedelta(0):
            raise ValueError(f"duration {duration} is negative")
        if duration == timedelta(0):
            return start.astimezone(self.zone)
        remaining = duration
        for s, e in _minus(self._intervals_from(start), _normalise(excluding)):
            if e - s >= remaining:
                return (s + remaining).astimezone(self.zone)
            remaining -= e - s
        raise AssertionError("open intervals are endless")  # pragma: no cover

    def working_day_deadline(self, start: datetime, days: int) -> datetime:
        """The end of service on the `days`-th working day after the report.

        A working day is a local date with open time. A report outside service hours counts
        from the next opening, like any clock: reported Saturday or Monday 07:00, the report
        day is Monday and "1wd" ends Tuesday at closing; reported Monday 12:00, also Tuesday.
        """
        if days < 1:
            raise ValueError(f"working days must be at least 1, not {days}")
        begin = to_utc(self.next_open(start))
        report_day = begin.astimezone(self.zone).date()
        current_day: date | None = None
        current_end = begin
        count = 0
        for day, _, end in self._daily_pieces(begin):
            if day == report_day:
                continue
            if day != current_day:
                if count == days:
                    break
                current_day, count = day, count + 1
            current_end = end
        return current_end.astimezone(self.zone)

    def union(self, *others: Calendar) -> Calendar:
        """A calendar open whenever this one or any of `others` is."""
        return CalendarUnion(name="+".join(c.name for c in (self, *others)), parts=(self, *others))

    def _daily_pieces(self, at: datetime) -> Iterator[tuple[date, datetime, datetime]]:
        # Open intervals cut at local midnight and tagged with their local date, so a 24x7
        # calendar or a window reaching 24:00 still has working days.
        for s, e in self._intervals_from(at):
            while s < e:
                day = s.astimezone(self.zone).date()
                midnight = datetime.combine(day + _DAY, time(0), tzinfo=self.zone).astimezone(UTC)
                yield day, s, min(e, midnight)
                s = min(e, midnight)


@dataclass(frozen=True)
class BusinessCalendar(Calendar):
    """One calendar from config: weekly windows, holidays, closed and open days, or 24x7."""

    name: str
    zone: ZoneInfo
    always_open: bool = False
    week: tuple[tuple[Window, ...], ...] = ((),) * 7  # Monday .. Sunday, sorted, disjoint
    holidays: HolidayRules | None = None
    holiday_windows: tuple[Window, ...] = ()
    closed_days: frozenset[date] = frozenset()
    open_days: frozenset[date] = frozenset()
    _spans: dict[date, tuple[Interval, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def windows_on(self, day: date) -> tuple[Window, ...]:
        """The windows that apply on `day`, after open days, closed days and holidays."""
        if self.always_open:
            return (Window(0, 1440),)
        if day in self.open_days:
            return self.week[day.weekday()]
        if day in self.closed_days:
            return ()
        if self.holidays is not None and self.holidays.closed_on(day):
            return self.holiday_windows
        return self.week[day.weekday()]

    def holidays_for(self, year: int) -> list[Holiday]:
        """The public holidays and closed days of `year`, with whether each is observed."""
        entries = [] if self.holidays is None else self.holidays.holidays_for(year)
        entries = [
            Holiday(h.day, h.name, observed=False, note="open day in config")
            if h.observed and h.day in self.open_days
            else h
            for h in entries
        ]
        entries += [
            Holiday(day, "Closed day", observed=True, note="closed_days in config")
            for day in self.closed_days
            if day.year == year
        ]
        return sorted(entries, key=lambda h: h.day)

    def _intervals_from(self, at: datetime) -> Iterator[Interval]:
        # Around the clock comes in week-long pieces, so joining it with another calendar
        # (which swallows that calendar's intervals piece by piece) never stalls.
        while self.always_open:
            yield at, at + _STRETCH
            at += _STRETCH
        yield from _coalesce(self._day_intervals_from(at))

    def _day_intervals_from(self, at: datetime) -> Iterator[Interval]:
        # Windows of a local date end by that date's 24:00, so starting at `at`'s date is enough.
        day = at.astimezone(self.zone).date()
        closed_days = 0
        while True:
            spans = self._spans_on(day)
            closed_days = 0 if spans else closed_days + 1
            if closed_days > _MAX_CLOSED_DAYS:
                raise ValueError(
                    f"calendar {self.name!r} has no open time for {_MAX_CLOSED_DAYS} days "
                    f"after {at.isoformat()}; check its windows and closed days"
                )
            for s, e in spans:
                if e > at:
                    yield max(s, at), e
            day += _DAY

    def _spans_on(self, day: date) -> tuple[Interval, ...]:
        spans = self._spans.get(day)
        if spans is None:
            spans = tuple(
                (self._local(day, w.start), self._local(day, w.end)) for w in self.windows_on(day)
            )
            self._spans[day] = spans
        return spans

    def _local(self, day: date, minutes: int) -> datetime:
        # Wall-clock time on `day` in UTC. A time skipped by the spring change (02:30) maps to
        # the same instant as its summer-time twin (03:30); a repeated one takes the first.
        if minutes == 1440:
            day, minutes = day + _DAY, 0
        wall = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.zone)
        return wall.astimezone(UTC)


@dataclass(frozen=True)
class CalendarUnion(Calendar):
    """Open whenever any part is open; working days and output use the first part's zone."""

    name: str
    parts: tuple[Calendar, ...]

    @property
    def zone(self) -> ZoneInfo:  # type: ignore[override]
        return self.parts[0].zone

    def _intervals_from(self, at: datetime) -> Iterator[Interval]:
        yield from _coalesce(heapq.merge(*(part._intervals_from(at) for part in self.parts)))


def build_calendar(
    name: str, settings: CalendarSettings, default_timezone: str
) -> BusinessCalendar:
    """A `BusinessCalendar` from its validated `[sla.calendars.NAME]` table."""
    rules = None
    if settings.holidays is not None:
        rules = HolidayRules(
            country=settings.holidays.country,
            skip=frozenset(name.strip().lower() for name in settings.holidays.skip),
            liberation_day=settings.holidays.liberation_day,
        )
    return BusinessCalendar(
        name=name,
        zone=ZoneInfo(settings.timezone or default_timezone),
        always_open=settings.always_open,
        week=settings.week() if not settings.always_open else ((),) * 7,
        holidays=rules,
        holiday_windows=tuple(sorted(settings.holiday_windows)),
        closed_days=frozenset(settings.closed_days),
        open_days=frozenset(settings.open_days),
    )


def format_holidays(calendar: BusinessCalendar, year: int) -> str:
    """The holiday list of `year` as `mailintake sla holidays --year` prints it."""
    country = calendar.holidays.country if calendar.holidays else "no public holidays"
    lines = [f"Holidays {year} for calendar {calendar.name!r} ({country}, {calendar.zone.key})"]
    if calendar.always_open:
        lines.append("  open 24x7: holidays do not close this calendar")
        return "\n".join(lines)
    entries = calendar.holidays_for(year)
    width = max((len(h.name) for h in entries), default=0)
    for h in entries:
        if not h.observed:
            status = f"open ({h.note})"
        elif calendar.holiday_windows and h.note != "closed_days in config":
            status = "holiday windows " + ", ".join(str(w) for w in calendar.holiday_windows)
        else:
            status = "closed" + (f" ({h.note})" if h.note else "")
        weekday = WEEKDAYS[h.day.weekday()].capitalize()
        lines.append(f"  {h.day.isoformat()} {weekday}  {h.name:<{width}}  {status}")
    if not entries:
        lines.append("  (none)")
    return "\n".join(lines)


def _clip(intervals: Iterable[Interval], end: datetime) -> Iterator[Interval]:
    for s, e in intervals:
        if s >= end:
            return
        yield s, min(e, end)


def _coalesce(intervals: Iterable[Interval]) -> Iterator[Interval]:
    # Join overlapping intervals (a union must not count time twice) and touching ones (a
    # Monday 00:00-24:00 and a Tuesday 00:00-...), so answers show real openings and closings.
    # A stretch is let go after a week so a calendar open around the clock cannot stall it;
    # a seam at that point is harmless, as the next interval starts at the same instant.
    pending: Interval | None = None
    for s, e in intervals:
        if pending is None:
            pending = (s, e)
        elif s > pending[1]:
            yield pending
            pending = (s, e)
        elif e <= pending[1]:
            continue
        elif pending[1] - pending[0] < _STRETCH:
            pending = (pending[0], e)
        else:
            yield pending
            pending = (pending[1], e)
    if pending is not None:
        yield pending


def _normalise(excluding: Sequence[Interval]) -> list[Interval]:
    return list(_coalesce(sorted((to_utc(s, "pause"), to_utc(e, "pause")) for s, e in excluding)))


def _minus(intervals: Iterable[Interval], cuts: list[Interval]) -> Iterator[Interval]:
    # Open intervals with the (sorted, disjoint) cuts taken out: open time minus pauses.
    i = 0
    for s, e in intervals:
        while s < e:
            while i < len(cuts) and cuts[i][1] <= s:
                i += 1
            if i == len(cuts) or cuts[i][0] >= e:
                yield s, e
                break
            if cuts[i][0] > s:
                yield s, cuts[i][0]
            s = cuts[i][1]
