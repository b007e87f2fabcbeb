"""The SLA room: business calendars, targets, clocks and deadlines, as pure functions.

Nothing here touches the database or another room. The app parses `[sla]` into `SlaSettings`,
builds `ServiceLevels` once, asks it for a ticket's `Terms` (calendar and targets) and folds
each metric's clock changes into a `Clock` to get deadlines and warnings.
"""

from mailintake.sla.calendar import (
    BusinessCalendar,
    Calendar,
    CalendarUnion,
    build_calendar,
    format_holidays,
)
from mailintake.sla.clock import Clock, ClockAction, ClockChange, ClockState, due_warnings
from mailintake.sla.deadlines import Due, Metric, ServiceLevels, Terms, format_due
from mailintake.sla.public_holidays import Holiday
from mailintake.sla.settings import SlaSettings, load_example
from mailintake.sla.targets import CATEGORIES, KINDS, Target, parse_category

__all__ = [
    "CATEGORIES",
    "KINDS",
    "BusinessCalendar",
    "Calendar",
    "CalendarUnion",
    "Clock",
    "ClockAction",
    "ClockChange",
    "ClockState",
    "Due",
    "Holiday",
    "Metric",
    "ServiceLevels",
    "SlaSettings",
    "Target",
    "Terms",
    "build_calendar",
    "due_warnings",
    "format_due",
    "format_holidays",
    "load_example",
    "parse_category",
]
