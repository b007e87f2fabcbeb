"""`mailintake import mbox FILE` and `mailintake import maildir DIR`: a backlog into the spool.

The bar (rich, on stderr) counts messages; the summary on stdout says how many were stored, how
many the spool already had and which were not messages. The daemon's worker (or `mailintake
process --once`) makes tickets of them; a repeat of a message already ticketed is a duplicate.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailintake.cli.common import EXIT_USAGE, CommandError, add_command, add_group, open_database
from mailintake.config import Config

if TYPE_CHECKING:
    from mailintake.intake.backlog import Backlog, ImportReport


def _import(config: Config, backlog: Backlog, show_progress: bool) -> ImportReport:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from mailintake.intake.backlog import import_backlog

    sessions = open_database(config)
    console = Console(stderr=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())  # fmt: skip
    with Progress(*columns, console=console, disable=not show_progress) as progress:
        task = progress.add_task("importing", total=backlog.total)
        try:
            return import_backlog(backlog, sessions, lambda n: progress.advance(task, n))
        except Exception as error:
            # Batches committed so far stay; a rerun skips them (same bytes) and goes on.
            raise CommandError(
                f"storing failed ({type(error).__name__}: {error}); what was stored stays, run "
                "the import again to go on"
            ) from None


def _report(report: ImportReport) -> int:
    print(f"{report.total} message(s) read: {report.stored} stored, {report.already} already in "
          f"the spool, {len(report.not_messages)} not a message")  # fmt: skip
    for problem in report.not_messages:
        print(f"  skipped {problem}", file=sys.stderr)
    if report.stored:
        print("the daemon's worker, or `mailintake process --once`, makes tickets of them")
    return 0


def cmd_import_mbox(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.backlog import BacklogError, read_mbox

    try:
        backlog = read_mbox(Path(args.file))
    except BacklogError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    return _report(_import(config, backlog, not args.no_progress))


def cmd_import_maildir(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.backlog import BacklogError, read_maildir

    try:
        backlog = read_maildir(Path(args.directory))
    except BacklogError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    return _report(_import(config, backlog, not args.no_progress))


def register(commands: Any) -> None:
    group = add_group(commands, "import", "bring an old mailbox's messages into the spool")
    mbox = add_command(group, "mbox", cmd_import_mbox, "import the messages of an mbox file")
    mbox.add_argument("file", help="the mbox file (read only)")
    maildir = add_command(
        group, "maildir", cmd_import_maildir, "import the messages of a Maildir (cur/ and new/)"
    )
    maildir.add_argument("directory", help="the Maildir folder (read only)")
    for parser in (mbox, maildir):
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
