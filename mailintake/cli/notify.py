"""`mailintake templates` and `mailintake outbox`: check the mail the desk writes, and see
what it sent, what waits and what failed."""

from __future__ import annotations

import argparse
import json
from typing import Any

from mailintake.cli.common import (
    EXIT_FAILED,
    CommandError,
    add_command,
    add_group,
    open_database,
    print_table,
)
from mailintake.config import Config


def cmd_templates_check(config: Config, args: argparse.Namespace) -> int:
    from mailintake.notifier import check_templates

    folder = config.notifier.templates_dir
    problems = check_templates(config.resolve(folder) if folder else None, zone=config.desk.zone)
    for problem in problems:
        print(problem)
    if problems:
        return EXIT_FAILED
    where = config.resolve(folder) if folder else "the built-in templates"
    print(f"templates OK: every kind rendered in nl and en with sample data ({where})")
    return 0


def cmd_outbox_list(config: Config, args: argparse.Namespace) -> int:
    from mailintake.notifier import list_outbox, outbox_view
    from mailintake.storage.database import transaction

    with transaction(open_database(config), write=False) as session:
        try:
            views = [outbox_view(row, config.desk.zone) for row in list_outbox(session, args.state)]
        except ValueError as error:
            raise CommandError(str(error), 2) from None
    if args.json:
        print(json.dumps(views, indent=2, ensure_ascii=False))
        return 0
    table = [("ID", "CREATED", "STATE", "TRIES", "PURPOSE", "TO", "LAST ERROR")]
    for view in views:
        table.append(
            (
                str(view["id"]),
                view["created_at"][:16].replace("T", " "),
                view["state"],
                str(view["attempts"]),
                view["purpose"],
                ", ".join(view["recipients"]),
                (view["last_error"] or "")[:60],
            )
        )
    print_table(table)
    return 0


def cmd_outbox_retry(config: Config, args: argparse.Namespace) -> int:
    from mailintake.notifier import requeue
    from mailintake.storage.database import transaction
    from mailintake.storage.models import utcnow

    with transaction(open_database(config)) as session:
        done = [outbox_id for outbox_id in args.ids if requeue(session, outbox_id, utcnow())]
    missing = sorted(set(args.ids) - set(done))
    if done:
        print(f"queued again: {', '.join(map(str, done))}")
    if missing:
        raise CommandError(f"no failed outbox message with id {', '.join(map(str, missing))}")
    return 0


def register(commands: Any) -> None:
    templates = add_group(commands, "templates", "check the mail templates")
    add_command(templates, "check", cmd_templates_check, "render every template with sample data")
    outbox = add_group(commands, "outbox", "mail the desk sends: list and retry")
    listing = add_command(outbox, "list", cmd_outbox_list, "list outgoing mail")
    listing.add_argument("--state", help="pending, sent or failed")
    listing.add_argument("--json", action="store_true")
    retry = add_command(outbox, "retry", cmd_outbox_retry, "send failed mail again")
    retry.add_argument("ids", nargs="+", type=int, metavar="ID")
