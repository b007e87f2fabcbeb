"""`mailintake sla`: deadlines and holiday lists, so an admin can check the calendars."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from typing import Any

from mailintake.cli.common import EXIT_USAGE, CommandError, add_command, add_group
from mailintake.config import Config
from mailintake.sla import BusinessCalendar, ServiceLevels, format_due, format_holidays


def parse_start(text: str, config: Config) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(
            f"--start {text!r} is not ISO 8601; write e.g. 2026-11-23T16:00+01:00", EXIT_USAGE
        ) from None
    # A time without offset is the desk's local time, as an admin would read it.
    return start if start.tzinfo else start.replace(tzinfo=config.desk.zone)


def cmd_sla_due(config: Config, args: argparse.Namespace) -> int:
    levels = ServiceLevels.from_settings(config.sla)
    plan = None if args.plan in (None, "") else args.plan
    try:
        due = levels.due(plan, args.kind, args.category, parse_start(args.start, config))
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    print(format_due(due))
    return 0


def cmd_sla_holidays(config: Config, args: argparse.Namespace) -> int:
    levels = ServiceLevels.from_settings(config.sla)
    calendar = levels.calendars.get(args.calendar)
    if not isinstance(calendar, BusinessCalendar):
        known = ", ".join(sorted(levels.calendars))
        raise CommandError(f"no calendar {args.calendar!r}; known: {known}", EXIT_USAGE)
    print(format_holidays(calendar, args.year))
    return 0


def register(commands: Any) -> None:
    sla = add_group(commands, "sla", "check SLA deadlines and calendars")
    due = add_command(sla, "due", cmd_sla_due, "print the response and resolution deadlines")
    due.add_argument("--plan", required=True, help="plan name from [sla.plans]")
    due.add_argument("--kind", help="incident, service_request, change, user_admin, other")
    due.add_argument("--category", help="CAT I, CAT II or CAT III")
    due.add_argument("--start", required=True, help="when the report was complete (ISO 8601)")
    holidays = add_command(sla, "holidays", cmd_sla_holidays, "list a year's public holidays")
    holidays.add_argument("--year", type=int, default=date.today().year)
    holidays.add_argument("--calendar", default="office", help="calendar name (default office)")
