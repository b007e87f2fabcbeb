"""`mailintake tickets`: list tickets and show one with its timeline."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mailintake.cli.common import (
    CommandError,
    add_command,
    add_group,
    open_database,
    print_table,
    shorten,
)
from mailintake.config import Config

SHOWN_FIELDS = (
    "requester", "customer", "plan", "kind", "category", "status", "incomplete", "missing",
    "response_due", "resolution_due", "first_response_at", "flags",
)  # fmt: skip


def local_minute(iso: str | None) -> str | None:
    return iso[:16].replace("T", " ") if iso else None


def cmd_tickets_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.database import transaction
    from mailintake.storage.tickets import list_tickets, queue_order, ticket_view

    zone = config.desk.zone
    with transaction(open_database(config), write=False) as session:
        tickets = sorted(list_tickets(session, status=args.status), key=queue_order)
        views = [ticket_view(t, zone) for t in tickets]
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    table = [("REF", "DUE", "STATUS", "KIND", "CATEGORY", "CUSTOMER", "REQUESTER", "SUBJECT")]
    for view in views:
        table.append(
            (
                view["ref"],
                local_minute(view["next_due"]) or "-",
                view["status"] + (" (incomplete)" if view["incomplete"] else ""),
                view["kind"] or "-",
                view["category"] or "-",
                view["customer"] or "-",
                view["requester"] or "-",
                shorten(view["subject"], 40),
            )
        )
    print_table(table)
    return 0


def cmd_tickets_show(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.database import transaction
    from mailintake.storage.tickets import load_ticket, ticket_view

    zone = config.desk.zone
    with transaction(open_database(config), write=False) as session:
        ticket = load_ticket(session, args.ref)
        if ticket is None:
            raise CommandError(f"no ticket {args.ref}")
        view = ticket_view(ticket, zone, with_timeline=True)
    if args.json:
        print(json.dumps(view, indent=2, ensure_ascii=False))
        return 0
    print(f"{view['ref']}  {view['subject']}")
    for key in SHOWN_FIELDS:
        print(f"  {key:<18} {view[key] if view[key] not in (None, []) else '-'}")
    print("  timeline:")
    for event in view["events"]:
        details = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("type", "at"))
        print(f"    {event['at']}  {event['type']:<16} {details}")
    for message in view["thread"]:
        print(f"\n--- {message['direction']} {message['at']} {message['author']}")
        for attachment in message["attachments"]:
            print(
                f"    [attachment] {attachment['filename']} "
                f"({attachment['content_type']}, {attachment['size']} bytes)"
            )
        print(message["body"].strip())
    return 0


def register(commands: Any) -> None:
    tickets = add_group(commands, "tickets", "list and show tickets")
    listing = add_command(
        tickets, "list", cmd_tickets_list, "list tickets, nearest SLA deadline first"
    )
    listing.add_argument("--status")
    listing.add_argument("--json", action="store_true")
    show = add_command(tickets, "show", cmd_tickets_show, "show one ticket with its timeline")
    show.add_argument("ref")
    show.add_argument("--json", action="store_true")
