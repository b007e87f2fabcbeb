"""Commands that run the desk: init, serve, ingest, process."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from mailintake.cli.common import CommandError, add_command, load_desk, open_database
from mailintake.config import Config


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

    open_database(config)
    desk = load_desk(config)
    try:
        return asyncio.run(serve(config, desk))
    except ListenError as error:
        raise CommandError(str(error)) from None


def cmd_ingest(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.pipe import ingest
    from mailintake.storage.spool import Spool

    raw = Path(args.file).read_bytes() if args.file else sys.stdin.buffer.read()
    source = f"pipe:{args.file}" if args.file else "pipe:stdin"

    def spool() -> Spool:
        try:
            return Spool(open_database(config))
        except CommandError as error:
            raise RuntimeError(str(error)) from None

    code, message = ingest(raw, spool, source)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


def cmd_process(config: Config, args: argparse.Namespace) -> int:
    from mailintake.intake.worker import Worker

    sessions = open_database(config)
    worker = Worker(sessions, load_desk(config))
    report = worker.drain()
    print(
        f"processed {report.total}: {report.created} new tickets, {report.replies} replies, "
        f"{report.duplicates} duplicates, {len(report.failures)} failed"
    )
    for failure in report.failures:
        print(f"  spool {failure.spool_id}: {failure.error}")
    return 0


def register(commands: Any) -> None:
    add_command(commands, "init", cmd_init, "create or migrate the database to the newest schema")
    add_command(
        commands,
        "serve",
        cmd_serve,
        "run listener, IMAP pollers, pipeline and jobs until SIGTERM",
    )
    ingest = add_command(
        commands, "ingest", cmd_ingest, "spool one message from FILE or stdin (for MTA pipes)"
    )
    ingest.add_argument("file", nargs="?", help="the raw message; stdin when left out")
    process = add_command(commands, "process", cmd_process, "process spooled messages (cron)")
    process.add_argument(
        "--once", action="store_true", required=True, help="process what is waiting, then exit"
    )
