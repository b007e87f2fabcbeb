"""What every command shares: errors with exit codes, opening the database, plain tables."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import Config

if TYPE_CHECKING:
    from mailintake.intake.desk import Desk

EXIT_FAILED = 1
EXIT_USAGE = 2

Handler = Callable[[Config, argparse.Namespace], int]


class CommandError(Exception):
    """A command that cannot go on; the message is for the user, the code is the exit code."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def open_database(config: Config) -> sessionmaker[Session]:
    """Sessions on the configured database, which must be migrated to the newest schema."""
    from mailintake.storage.database import (
        SchemaNotCurrent,
        make_engine,
        make_sessionmaker,
        require_current_schema,
    )

    engine = make_engine(config.database_url)
    try:
        require_current_schema(engine)
    except SchemaNotCurrent as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    return make_sessionmaker(engine)


def load_desk(config: Config) -> Desk:
    """The rules, customers and SLA terms; a file that cannot be used is a usage error."""
    from mailintake.intake.desk import DeskSetupError, build_desk

    try:
        return build_desk(config)
    except DeskSetupError as error:
        raise CommandError(f"cannot start:\n{error}", EXIT_USAGE) from None


def add_command(commands: Any, name: str, handler: Handler, help_: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, help=help_, description=help_)
    parser.set_defaults(func=handler)
    return parser


def add_group(commands: Any, name: str, help_: str) -> Any:
    parser = commands.add_parser(name, help=help_, description=help_)
    return parser.add_subparsers(dest=f"{name}_command", required=True, metavar="COMMAND")


def shorten(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Columns padded to their widest cell; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
