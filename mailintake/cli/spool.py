"""`mailintake spool`: list, show and retry spooled messages."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from mailintake.cli.common import (
    EXIT_USAGE,
    CommandError,
    add_command,
    add_group,
    open_database,
    print_table,
)
from mailintake.config import Config


def cmd_spool_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.spool import Spool

    zone = config.desk.zone
    entries = Spool(open_database(config)).entries(state=args.state)
    if args.json:
        rows = [
            {**vars(entry), "received_at": entry.received_at.astimezone(zone).isoformat()}
            for entry in entries
        ]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = [("ID", "RECEIVED", "STATE", "SIZE", "SOURCE", "MESSAGE-ID / ERROR")]
    for entry in entries:
        detail = entry.error if entry.state == "failed" else (entry.message_id or "")
        table.append(
            (
                str(entry.id),
                entry.received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                entry.state + (" (dup)" if entry.duplicate_of else ""),
                str(entry.size),
                entry.source,
                detail or "",
            )
        )
    print_table(table)
    return 0


def cmd_spool_retry(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.spool import Spool

    if not args.all and not args.ids:
        raise CommandError("name spool ids to retry, or --all", EXIT_USAGE)
    count = Spool(open_database(config)).retry(None if args.all else args.ids)
    print(f"{count} message(s) queued again; `mailintake process --once` or the daemon takes them")
    return 0


def cmd_spool_show(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.spool import Spool

    raw = Spool(open_database(config)).raw(args.id)
    if raw is None:
        raise CommandError(f"no spool entry {args.id}")
    sys.stdout.buffer.write(raw)
    return 0


def register(commands: Any) -> None:
    spool = add_group(commands, "spool", "inspect and retry spooled messages")
    listing = add_command(spool, "list", cmd_spool_list, "list spooled messages")
    listing.add_argument("--state", choices=["received", "processed", "failed"])
    listing.add_argument("--json", action="store_true")
    retry = add_command(spool, "retry", cmd_spool_retry, "process failed messages again")
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--all", action="store_true", help="every failed message")
    show = add_command(spool, "show", cmd_spool_show, "print a spooled message's raw bytes")
    show.add_argument("id", type=int)
