"""The `mailintake` command: one argparse tree, a module per area of commands.

Exit codes: 0 done, 1 failed, 2 bad usage or configuration (the message says which file, key
and fix), and for `ingest` the sysexits codes an MTA understands (65, 75).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from mailintake.cli import (
    backlog,
    daemon,
    hours,
    imap,
    maintenance,
    notify,
    rules,
    sla,
    spool,
    tickets,
)
from mailintake.cli.common import CommandError
from mailintake.config import ConfigError, load_config
from mailintake.logs import setup_logging

EX_TEMPFAIL = 75


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailintake", description="Email-to-ticket intake daemon")
    parser.add_argument(
        "--config", help="config file (default ./config.toml, or $MAILINTAKE_CONFIG)"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for area in (daemon, spool, tickets, rules, sla, notify, maintenance, hours, imap, backlog):
        area.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"mailintake: {error}", file=sys.stderr)
        # An MTA must keep the mail while the config is being fixed.
        return EX_TEMPFAIL if args.command == "ingest" else 2
    setup_logging(config.logging.level, config.logging.format)
    try:
        return int(args.func(config, args))
    except CommandError as error:
        print(f"mailintake: {error}", file=sys.stderr)
        return error.code
    except OperationalError as error:
        # The database is away, locked or not what this version expects: say so in one line.
        print(f"mailintake: database error: {error.orig}", file=sys.stderr)
        return EX_TEMPFAIL if args.command == "ingest" else 1
    except KeyboardInterrupt:
        return 130
