"""`mailintake maintenance`: announce planned maintenance, list it, cancel it."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from mailintake.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_command,
    add_group,
    load_desk,
    open_database,
    print_table,
)
from mailintake.config import Config


def cmd_announce(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.maintenance import (
        AnnouncementError,
        announce,
        audience,
        check,
        read_announcement,
    )
    from mailintake.storage.models import utcnow

    desk = load_desk(config)
    sessions = open_database(config)
    zone = config.desk.zone
    try:
        plan = check(read_announcement(Path(args.file), zone), config.maintenance, zone, utcnow())
    except AnnouncementError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    customers = audience(desk.customers, plan.announcement.services)
    if not customers:
        print(
            "warning: no customer in the customers file takes "
            f"{', '.join(plan.announcement.services)}; nobody will be told",
            file=sys.stderr,
        )
    row = announce(sessions, plan, config.maintenance, utcnow())
    minute = "%a %Y-%m-%d %H:%M"
    start, end = row.starts_at.astimezone(zone), row.ends_at.astimezone(zone)
    print(f"{row.reference}: {start:{minute}} - {end:{minute}} ({', '.join(row.services)})")
    reminder = row.reminder_at.astimezone(zone) if row.reminder_at else None
    print(
        f"notice to {len(customers)} customer(s) at {row.notice_at.astimezone(zone):{minute}}"
        + (f", reminder at {reminder:{minute}}" if reminder else "")
    )
    return 0


def cmd_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.maintenance import list_maintenance

    zone = config.desk.zone
    rows = list_maintenance(open_database(config))

    def at(value: Any) -> str | None:
        return value.astimezone(zone).isoformat() if value else None

    views = [
        {
            "id": row.id, "reference": row.reference, "state": row.state,
            "start": at(row.starts_at), "end": at(row.ends_at),
            "expected_minutes": row.expected_minutes, "services": row.services,
            "reason": row.reason, "contact": row.contact, "notice_at": at(row.notice_at),
            "notice_sent_at": at(row.notice_sent_at), "reminder_at": at(row.reminder_at),
            "reminder_sent_at": at(row.reminder_sent_at), "cancelled_at": at(row.cancelled_at),
            "customers_told": [entry["customer"] for entry in row.notified],
        }
        for row in rows
    ]  # fmt: skip
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    table = [("ID", "REFERENCE", "STATE", "START", "END", "SERVICES", "NOTICE", "TOLD")]
    for view in views:
        notice = "sent" if view["notice_sent_at"] else (view["notice_at"] or "")[:16]
        table.append(
            (
                str(view["id"]), view["reference"], view["state"],
                view["start"][:16].replace("T", " "), view["end"][:16].replace("T", " "),
                ", ".join(view["services"]), notice.replace("T", " "),
                str(len(view["customers_told"])),
            )
        )  # fmt: skip
    print_table(table)
    return 0


def cmd_cancel(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.maintenance import AnnouncementError, cancel
    from mailintake.storage.models import utcnow

    desk = load_desk(config)
    try:
        row, told = cancel(open_database(config), desk, args.id, args.reason, utcnow())
    except AnnouncementError as error:
        raise CommandError(str(error)) from None
    if told:
        print(f"{row.reference} cancelled; a cancellation goes to {told} customer(s)")
    else:
        print(f"{row.reference} cancelled; it had not been announced to anyone yet")
    return 0


def register(commands: Any) -> None:
    maintenance = add_group(commands, "maintenance", "planned maintenance notices")
    announce = add_command(maintenance, "announce", cmd_announce,
                           "announce planned maintenance from a TOML file")  # fmt: skip
    announce.add_argument("file", metavar="FILE.toml")
    listing = add_command(maintenance, "list", cmd_list, "list planned maintenance")
    listing.add_argument("--json", action="store_true")
    cancel = add_command(maintenance, "cancel", cmd_cancel, "cancel; who was told is told again")
    cancel.add_argument("id", metavar="ID", help="the id or the reference (M-2026-0001)")
    cancel.add_argument("--reason", help="why, for the cancellation mail")
