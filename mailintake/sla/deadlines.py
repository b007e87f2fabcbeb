"""Deadlines for a ticket: which plan terms apply, and when first response and resolution are due.

`ServiceLevels` is built once from `SlaSettings` and answers "under plan P, for this kind and
category, which targets and which calendar apply?" (`terms`) and "reported at S, when are they
due?" (`due`). Lookup: an incident uses its category's targets ("CAT II"), else the plan's
`incident` targets; any other kind uses the targets of that kind; no match means no deadline.
A CAT III incident of a plan with a calamity calendar counts in the plan's calendar joined with
the calamity calendar. No plan, or a plan without targets, is Level 0: best effort, no deadlines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from mailintake.sla.calendar import BusinessCalendar, Calendar, build_calendar, to_utc
from mailintake.sla.clock import Clock, ClockChange
from mailintake.sla.settings import PlanSettings, SlaSettings
from mailintake.sla.targets import CALAMITY, KINDS, Target, parse_category

Metric = Literal["response", "resolution"]


@dataclass(frozen=True)
class Terms:
    """What applies to one ticket: the calendar to count in and the two targets."""

    plan: str | None
    calendar: Calendar
    response: Target | None = None
    resolution: Target | None = None
    matched: str | None = None  # the `targets` key used, e.g. "CAT III"; None: no targets

    def target(self, metric: Metric) -> Target | None:
        return self.response if metric == "response" else self.resolution

    def clock(self, metric: Metric, changes: Iterable[ClockChange]) -> Clock:
        """The clock for `metric` folded from its changes under these terms."""
        return Clock.from_changes(changes, self.target(metric), self.calendar)


@dataclass(frozen=True)
class Due:
    """Both deadlines for a report, counted from the same start (None: no target)."""

    terms: Terms
    start: datetime
    response: datetime | None
    resolution: datetime | None


@dataclass(frozen=True, eq=False)
class ServiceLevels:
    """Calendars and plans from config, ready to compute deadlines."""

    calendars: Mapping[str, BusinessCalendar]
    plans: Mapping[str, PlanSettings]
    warning_thresholds: tuple[float, ...]
    zone: ZoneInfo

    @classmethod
    def from_settings(cls, settings: SlaSettings) -> ServiceLevels:
        return cls(
            calendars={
                name: build_calendar(name, calendar, settings.timezone)
                for name, calendar in settings.calendars.items()
            },
            plans=dict(settings.plans),
            warning_thresholds=tuple(settings.warning_thresholds),
            zone=ZoneInfo(settings.timezone),
        )

    def level_zero(self) -> Calendar:
        """The calendar of tickets without a plan: around the clock, nothing is due."""
        return BusinessCalendar(name="level 0", zone=self.zone, always_open=True)

    def terms(self, plan: str | None, kind: str | None, category: str | None) -> Terms:
        """The terms for a ticket; ValueError for an unknown plan, kind or category.

        `plan` None is Level 0. `kind` None with a category counts as an incident, without one
        as "other". Categories may be written "CAT III", "CATIII" or "3".
        """
        cat = parse_category(category) if category else None
        kind = (kind or ("incident" if cat else "other")).strip().lower()
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
        if plan is None:
            return Terms(plan=None, calendar=self.level_zero())
        settings = self.plans.get(plan)
        if settings is None:
            known = ", ".join(sorted(self.plans)) or "(none defined)"
            raise ValueError(f"unknown plan {plan!r}: known plans are {known}")
        key = _target_key(settings, kind, cat)
        targets = settings.targets.get(key) if key else None
        name = (targets.calendar if targets else None) or settings.calendar
        if name is None:
            return Terms(plan=plan, calendar=self.level_zero())
        calendar: Calendar = self.calendars[name]
        if kind == "incident" and cat == CALAMITY and settings.calamity_calendar:
            calendar = calendar.union(self.calendars[settings.calamity_calendar])
        if targets is None:
            return Terms(plan=plan, calendar=calendar)
        return Terms(plan, calendar, targets.response, targets.resolution, key)

    def due(self, plan: str | None, kind: str | None, category: str | None, start: datetime) -> Due:
        """First-response and resolution deadlines for a report complete at `start`."""
        terms = self.terms(plan, kind, category)
        to_utc(start, "start")
        response, resolution = (
            None if target is None else target.deadline(terms.calendar, start)
            for target in (terms.response, terms.resolution)
        )
        return Due(terms, start, response, resolution)


def _target_key(plan: PlanSettings, kind: str, category: str | None) -> str | None:
    if kind == "incident" and category in plan.targets:
        return category
    return kind if kind in plan.targets else None


def format_due(due: Due) -> str:
    """The deadlines as `mailintake sla due` prints them: first response first, ISO 8601."""
    zone = due.terms.calendar.zone

    def show(deadline: datetime | None) -> str:
        if deadline is None:
            return "none (no target)"
        return deadline.astimezone(zone).isoformat(timespec="seconds")

    terms = due.terms
    plan = terms.plan if terms.plan is not None else "none (Level 0)"
    source = f"targets {terms.matched!r}" if terms.matched else "no targets"
    return "\n".join(
        [
            f"response due:   {show(due.response)}",
            f"resolution due: {show(due.resolution)}",
            f"(plan {plan}, {source}, calendar {terms.calendar.name} in {zone.key}, "
            f"from {due.start.astimezone(zone).isoformat(timespec='seconds')})",
        ]
    )
