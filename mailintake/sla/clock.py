"""SLA clocks: one per metric (first response, resolution), folded from their changes.

A clock is never stored as a running counter. It is rebuilt from the list of its changes
(start, pause, resume, stop — each a ticket event) together with the target and calendar that
apply now. So a category change is just a rebuild with the new target: the original start is
kept, and the deadline is recomputed from it. A deadline counts only open time of the calendar
and no paused time. Changes that make no sense in the clock's state (a pause while paused, a
start after the first) are ignored, so replaying a history twice or with duplicates is harmless;
a resume after a stop reopens the clock (a ticket reopened), the stopped span not counting.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from mailintake.sla.calendar import Calendar, Interval, to_utc
from mailintake.sla.targets import Target


class ClockAction(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"


class ClockState(StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True)
class ClockChange:
    """One change to a clock at an aware moment; `action` may be given as its string."""

    at: datetime
    action: ClockAction

    def __post_init__(self) -> None:
        to_utc(self.at, "clock change")
        object.__setattr__(self, "action", ClockAction(self.action))


@dataclass(frozen=True)
class Clock:
    """A clock's history reduced to what deadlines need; times are aware, in UTC."""

    target: Target | None
    calendar: Calendar
    started_at: datetime | None = None
    pauses: tuple[Interval, ...] = ()  # finished pauses, in order
    paused_since: datetime | None = None
    stopped_at: datetime | None = None

    @classmethod
    def from_changes(
        cls, changes: Iterable[ClockChange], target: Target | None, calendar: Calendar
    ) -> Clock:
        """Fold `changes` (in time order; equal times keep their given order) into a clock."""
        started: datetime | None = None
        pauses: list[Interval] = []
        paused_since: datetime | None = None
        stopped: datetime | None = None
        for change in sorted(changes, key=lambda c: to_utc(c.at)):
            at = to_utc(change.at)
            match change.action:
                case ClockAction.START if started is None:
                    started = at
                case ClockAction.PAUSE if (
                    started is not None and paused_since is None and stopped is None
                ):
                    paused_since = at
                case ClockAction.RESUME if paused_since is not None and stopped is None:
                    pauses.append((paused_since, at))
                    paused_since = None
                case ClockAction.RESUME if stopped is not None:
                    pauses.append((stopped, at))
                    stopped = None
                case ClockAction.STOP if started is not None and stopped is None:
                    if paused_since is not None:
                        pauses.append((paused_since, at))
                        paused_since = None
                    stopped = at
        return cls(target, calendar, started, tuple(pauses), paused_since, stopped)

    @property
    def state(self) -> ClockState:
        if self.started_at is None:
            return ClockState.NOT_STARTED
        if self.stopped_at is not None:
            return ClockState.STOPPED
        if self.paused_since is not None:
            return ClockState.PAUSED
        return ClockState.RUNNING

    def with_target(self, target: Target | None, calendar: Calendar | None = None) -> Clock:
        """The same history under a new target (and calendar), e.g. after a category change."""
        return replace(self, target=target, calendar=calendar or self.calendar)

    def budget(self) -> timedelta | None:
        """The open time the target allows; None without a target or before the start."""
        if self.target is None or self.started_at is None:
            return None
        return self.target.budget(self.calendar, self.started_at)

    def deadline(self, now: datetime | None = None) -> datetime | None:
        """When the target is used up, in the calendar's zone; None without a target or start.

        While paused the deadline is open: None, or, given `now`, the deadline if the clock
        resumed at `now`. A stopped clock keeps the deadline it had, to tell met from missed.
        """
        return self.at_fraction(1.0, now)

    def at_fraction(self, fraction: float, now: datetime | None = None) -> datetime | None:
        """When `fraction` of the target is used (0.75 → the 75 % warning), like `deadline`."""
        budget = self.budget()
        if budget is None or self.started_at is None:
            return None
        pauses = list(self.pauses)
        if self.paused_since is not None:
            if now is None:
                return None
            pauses.append((self.paused_since, max(to_utc(now), self.paused_since)))
        return self.calendar.add_open_time(self.started_at, budget * fraction, pauses)

    def elapsed_open(self, now: datetime) -> timedelta:
        """Open time the clock has run by `now`, pauses and time after the stop left out."""
        if self.started_at is None:
            return timedelta(0)
        end = to_utc(now)
        if self.stopped_at is not None:
            end = min(end, self.stopped_at)
        if end <= self.started_at:
            return timedelta(0)
        pauses: Sequence[Interval] = self.pauses
        if self.paused_since is not None:
            pauses = [*self.pauses, (self.paused_since, max(end, self.paused_since))]
        return self.calendar.open_time_between(self.started_at, end, pauses)

    def fraction_used(self, now: datetime) -> float | None:
        """Share of the target used by `now` (1.0 = breached); None without a target or start."""
        budget = self.budget()
        if budget is None:
            return None
        return self.elapsed_open(now) / budget


def due_warnings(
    clock: Clock, now: datetime, thresholds: Iterable[float], already_sent: Iterable[float]
) -> list[float]:
    """Thresholds the running clock has reached by `now` and that were not yet reported.

    A paused, stopped or unstarted clock, or one without a target, warns about nothing; a
    threshold crossed while nobody looked is still returned, so a restarted daemon catches up.
    """
    if clock.state is not ClockState.RUNNING:
        return []
    used = clock.fraction_used(now)
    if used is None:
        return []
    sent = list(already_sent)
    return [
        threshold
        for threshold in sorted(set(thresholds))
        if used >= threshold and not any(math.isclose(threshold, s) for s in sent)
    ]
