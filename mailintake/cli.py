"""The `mailintake` command: one argparse tree, each command a short function.

Exit codes: 0 done, 1 failed, 2 bad usage or configuration (the message says which file, key
and fix), and for `ingest` the sysexits codes an MTA understands (65, 75).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mailintake.config import Config, ConfigError, load_config
from mailintake.logs import setup_logging

EXIT_FAILED = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A command that cannot go on; the message is for the user, the code is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _database(config: Config, *, require_schema: bool = True) -> Any:
    from mailintake.storage.database import (
        SchemaNotCurrent,
        make_engine,
        make_sessionmaker,
        require_current_schema,
    )

    engine = make_engine(config.database_url)
    if require_schema:
        try:
            require_current_schema(engine)
        except SchemaNotCurrent as error:
            raise CommandError(str(error), EXIT_USAGE) from None
    return make_sessionmaker(engine)


def cmd_init(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.database import make_engine, migrate

    engine = make_engine(config.database_url)
    before, after = migrate(engine)
    where = engine.url.render_as_string(hide_password=True)
    if before == after:
        print(f"{where}: schema is current (revision {after})")
    else:
        print(f"{where}: migrated from {before or 'empty'} to revision {after}")
    return 0


def cmd_serve(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.daemon import ListenError, serve

    _database(config)
    try:
        return asyncio.run(serve(config))
    except ListenError as error:
        raise CommandError(str(error)) from None


def cmd_ingest(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.pipe import ingest
    from mailintake.storage.spool import Spool

    raw = Path(args.file).read_bytes() if args.file else sys.stdin.buffer.read()
    source = f"pipe:{args.file}" if args.file else "pipe:stdin"

    def spool() -> Spool:
        try:
            return Spool(_database(config))
        except CommandError as error:
            raise RuntimeError(str(error)) from None

    code, message = ingest(raw, spool, source)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


def cmd_process(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.pipeline import PipelineContext
    from mailintake.intake.worker import Worker

    sessions = _database(config)
    worker = Worker(sessions, PipelineContext(zone=config.desk.zone))
    report = worker.drain()
    print(
        f"processed {report.total}: {report.created} new tickets, {report.replies} replies, "
        f"{report.duplicates} duplicates, {len(report.failures)} failed"
    )
    for failure in report.failures:
        print(f"  spool {failure.spool_id}: {failure.error}")
    return 0


def cmd_spool_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.spool import Spool

    zone = config.desk.zone
    entries = Spool(_database(config)).entries(state=args.state)
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
    count = Spool(_database(config)).retry(None if args.all else args.ids)
    print(f"{count} message(s) queued again; `mailintake process --once` or the daemon takes them")
    return 0


def cmd_spool_show(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.spool import Spool

    raw = Spool(_database(config)).raw(args.id)
    if raw is None:
        raise CommandError(f"no spool entry {args.id}")
    sys.stdout.buffer.write(raw)
    return 0


def cmd_tickets_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.database import transaction
    from mailintake.storage.tickets import list_tickets, ticket_view

    zone = config.desk.zone
    with transaction(_database(config)) as session:
        views = [ticket_view(t, zone) for t in list_tickets(session, status=args.status)]
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    table = [("REF", "CREATED", "STATUS", "KIND", "CATEGORY", "REQUESTER", "MSGS", "SUBJECT")]
    for view in views:
        table.append(
            (
                view["ref"],
                view["created_at"][:16].replace("T", " "),
                view["status"],
                view["kind"] or "-",
                view["category"] or "-",
                view["requester"] or "-",
                str(view["messages"]),
                shorten(view["subject"], 50),
            )
        )
    print_table(table)
    return 0


def cmd_tickets_show(config: Config, args: argparse.Namespace) -> int:
    from mailintake.storage.database import transaction
    from mailintake.storage.tickets import load_ticket, ticket_view

    zone = config.desk.zone
    with transaction(_database(config)) as session:
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


SHOWN_FIELDS = (
    "requester", "customer", "plan", "kind", "category", "status", "incomplete", "missing",
    "response_due", "resolution_due", "first_response_at", "flags",
)  # fmt: skip


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailintake", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", help="config file (default ./config.toml or $MAILINTAKE_CONFIG)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: Callable[[Config, argparse.Namespace], int], help_: str,
            into: Any = commands) -> argparse.ArgumentParser:  # fmt: skip
        sub = into.add_parser(name, help=help_, description=help_)
        sub.set_defaults(func=func)
        return sub

    add("init", cmd_init, "create or migrate the database to the newest schema")
    add("serve", cmd_serve, "run the SMTP listener and the pipeline until SIGTERM")
    ingest = add("ingest", cmd_ingest, "spool one message from FILE or stdin (for MTA pipes)")
    ingest.add_argument("file", nargs="?", help="the raw message; stdin when left out")
    process = add("process", cmd_process, "process spooled messages (cron-style)")
    process.add_argument("--once", action="store_true", required=True,
                         help="process what is waiting, then exit")  # fmt: skip

    spool = commands.add_parser("spool", help="inspect and retry spooled messages")
    spool_commands = spool.add_subparsers(dest="spool_command", required=True, metavar="COMMAND")
    spool_list = add("list", cmd_spool_list, "list spooled messages", spool_commands)
    spool_list.add_argument("--state", choices=["received", "processed", "failed"])
    spool_list.add_argument("--json", action="store_true")
    retry = add("retry", cmd_spool_retry, "process failed messages again", spool_commands)
    retry.add_argument("ids", nargs="*", type=int, metavar="ID")
    retry.add_argument("--all", action="store_true", help="every failed message")
    show = add("show", cmd_spool_show, "print a spooled message's raw bytes", spool_commands)
    show.add_argument("id", type=int)

    tickets = commands.add_parser("tickets", help="list and show tickets")
    ticket_commands = tickets.add_subparsers(dest="tickets_command", required=True,
                                             metavar="COMMAND")  # fmt: skip
    tickets_list = add("list", cmd_tickets_list, "list tickets", ticket_commands)
    tickets_list.add_argument("--status")
    tickets_list.add_argument("--json", action="store_true")
    tickets_show = add("show", cmd_tickets_show, "show one ticket with its timeline",
                       ticket_commands)  # fmt: skip
    tickets_show.add_argument("ref")
    tickets_show.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"mailintake: {error}", file=sys.stderr)
        # An MTA must keep the mail while the config is being fixed.
        return 75 if args.command == "ingest" else EXIT_USAGE
    setup_logging(config.logging.level, config.logging.format)
    try:
        return int(args.func(config, args))
    except CommandError as error:
        print(f"mailintake: {error}", file=sys.stderr)
        return error.code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
