"""`mailintake sla`: deadlines and holiday lists, so an admin can check the calendars."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from mailintake.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_command,
    add_group,
    load_desk,
    open_database,
)
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


def cmd_sla_explain(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.lifecycle import clock_changes, terms_for
    from mailintake.storage.database import transaction
    from mailintake.storage.tickets import load_ticket

    desk = load_desk(config)
    now = parse_start(args.now, config) if args.now else datetime.now(UTC)
    with transaction(open_database(config), write=False) as session:
        ticket = load_ticket(session, args.ref)
        if ticket is None:
            raise CommandError(f"no ticket {args.ref}")
        terms = terms_for(ticket, desk)
        zone = terms.calendar.zone
        lines = [
            f"{ticket.ref}  plan {ticket.plan or 'none'}, {ticket.kind or '-'} "
            f"{ticket.category or ''}".rstrip()
            + f", targets {terms.matched or '(none: Level 0)'}, calendar {terms.calendar.name}"
            f" in {zone.key}; as of {local(now, zone)}"
        ]
        for metric in ("response", "resolution"):
            changes = clock_changes(ticket, metric)
            clock = terms.clock(metric, changes)
            target = terms.target(metric)
            lines.append(
                f"{metric} clock: {clock.state.value.replace('_', ' ')}, "
                f"target {target.text if target else 'none'}"
            )
            reasons = [e.data.get("reason", "") for e in ticket.events
                       if e.type == "clock" and e.data.get("metric") == metric]  # fmt: skip
            for change, reason in zip(changes, reasons, strict=True):
                lines.append(f"  {local(change.at, zone)}  {change.action.value:<7} {reason}")
            if clock.started_at is not None:
                used = clock.elapsed_open(now)
                share = clock.fraction_used(now)
                of = f" ({share:.0%} of the target)" if share is not None else ""
                lines.append(f"  open time used: {hours(used)}{of}")
            deadline = clock.deadline(now)
            if deadline is not None:
                paused = " if resumed now" if clock.paused_since is not None else ""
                lines.append(f"  deadline: {local(deadline, zone)}{paused}")
    print("\n".join(lines))
    return 0


def local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z")


def hours(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    return f"{minutes // 60}h{minutes % 60:02d}m"


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
    explain = add_command(sla, "explain", cmd_sla_explain, "a ticket's clocks in local time")
    explain.add_argument("ref")
    explain.add_argument("--now", help="as of this moment (ISO 8601; default now)")
