"""`mailintake rules`: check a rules file and try the rules on a message, as an admin does
before the daemon reloads them."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailintake.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    CommandError,
    add_command,
    add_group,
    load_desk,
)
from mailintake.config import Config


def cmd_rules_check(config: Config, args: argparse.Namespace) -> int:
    from mailintake.classifiers import check_rules_file, cross_check, load_rules
    from mailintake.intake.desk import rules_path
    from mailintake.intake.notices import FORMS_TEMPLATE

    path = Path(args.file) if args.file else rules_path(config)
    problems = check_rules_file(path)
    if not problems:
        rules = load_rules(path)
        problems = cross_check(rules, load_desk(config).customers, templates={FORMS_TEMPLATE})
        if not problems:
            print(f"{path}: OK, {len(rules.rules)} rules, sha256 {rules.sha256}")
            return 0
    for problem in problems:
        print(problem)
    return EXIT_FAILED


def cmd_rules_test(config: Config, args: argparse.Namespace) -> int:
    from mailintake.classifiers import as_json, classify, explain, load_rules
    from mailintake.intake.parse import parse

    desk = load_desk(config)
    if args.rules:
        desk.rules = load_rules(args.rules)
    try:
        mail = parse(Path(args.message).read_bytes()).mail
    except OSError as error:
        raise CommandError(f"{args.message}: {error.strerror}", EXIT_USAGE) from None
    at = arrival(args.at, mail.date, config)
    result = classify(mail, rules=desk.rules, customers=desk.customers,
                      received_in_service_hours=desk.in_service_hours(at))  # fmt: skip
    if args.json:
        print(json.dumps({**as_json(result), "arrival": at.isoformat()}, indent=2,
                         ensure_ascii=False))  # fmt: skip
    else:
        print(explain(result, verbose=args.verbose))
    return 0


def arrival(text: str | None, date: datetime | None, config: Config) -> datetime:
    """When to pretend the mail arrived: --at, else its Date header, else now."""
    if text:
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--at {text!r} is not ISO 8601", EXIT_USAGE) from None
        return at if at.tzinfo else at.replace(tzinfo=config.desk.zone)
    return date or datetime.now(UTC)


def register(commands: Any) -> None:
    rules = add_group(commands, "rules", "check the classifier rules and try them on a mail")
    check = add_command(rules, "check", cmd_rules_check, "check a rules file (exit 1 on problems)")
    check.add_argument("file", nargs="?", help="rules file (default: the configured one)")
    test = add_command(rules, "test", cmd_rules_test, "classify MESSAGE.eml and say why")
    test.add_argument("message", metavar="MESSAGE.eml")
    test.add_argument("--json", action="store_true")
    test.add_argument("--verbose", action="store_true", help="list the rules that missed too")
    test.add_argument("--rules", help="try this rules file instead of the configured one")
    test.add_argument("--at", help="arrival time (ISO 8601); default the mail's Date header")
