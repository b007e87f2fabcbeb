"""`mailintake time add` and `mailintake report hours`: time spent, and what is billed for it."""

from __future__ import annotations

import argparse
from typing import Any

from mailintake.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_command,
    add_group,
    open_database,
    print_table,
    shorten,
)
from mailintake.config import Config


def cmd_time_add(config: Config, args: argparse.Namespace) -> int:
    from mailintake.durations import parse_duration
    from mailintake.intake.engineers import log_time, minutes
    from mailintake.storage.database import transaction
    from mailintake.storage.models import utcnow
    from mailintake.storage.tickets import load_ticket

    try:
        spent = parse_duration(args.duration)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    with transaction(open_database(config)) as session:
        ticket = load_ticket(session, args.ref)
        if ticket is None:
            raise CommandError(f"no ticket {args.ref}")
        log_time(session, ticket, spent, utcnow(), actor=args.by, note=args.note or "")
        ref = ticket.ref
    print(f"{ref}: {minutes(spent)} minutes logged")
    return 0


def cmd_report_hours(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.hours import as_csv, hours_report
    from mailintake.storage.database import transaction

    with transaction(open_database(config), write=False) as session:
        try:
            lines = hours_report(session, args.month, config.desk.zone, args.customer)
        except ValueError as error:
            raise CommandError(str(error), EXIT_USAGE) from None
    if args.csv:
        print(as_csv(lines), end="")
        return 0
    table = [("TICKET", "CUSTOMER", "KIND", "SPENT", "UNITS", "INCLUDED", "BILLABLE", "SUBJECT")]
    for line in lines:
        table.append(
            (
                line.ref, line.customer or "-", line.kind or "-",
                f"{line.minutes // 60}:{line.minutes % 60:02d}", str(line.units),
                f"{line.included_minutes} min" if line.included_minutes else "-",
                str(line.billable_units), shorten(line.subject, 40),
            )
        )  # fmt: skip
    total = sum(line.billable_units for line in lines)
    print_table(table)
    print(f"\n{len(lines)} ticket(s), {total} billable unit(s) of 15 minutes")
    return 0


def register(commands: Any) -> None:
    time = add_group(commands, "time", "register time spent on a ticket")
    add = add_command(time, "add", cmd_time_add, "log time on a ticket, e.g. 20m or 1h30m")
    add.add_argument("ref")
    add.add_argument("duration")
    add.add_argument("--note")
    add.add_argument("--by", default="cli", help="who did the work (default: cli)")
    report = add_group(commands, "report", "reports")
    hours = add_command(report, "hours", cmd_report_hours, "hours per ticket in a month")
    hours.add_argument("--month", required=True, help="YYYY-MM")
    hours.add_argument("--customer")
    hours.add_argument("--csv", action="store_true", help="CSV for accounting")
