"""Running the `imap` and `import` command modules in-process, the way `mailintake` runs them."""

from __future__ import annotations

import argparse
import io
import json
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from mailintake.cli import backlog, imap
from mailintake.cli.common import CommandError
from mailintake.config import load_config
from tests.support.configs import toml_text


def write_config(
    directory: Path, database_url: str, mailboxes: list[dict[str, Any]], **sections: dict[str, Any]
) -> Path:
    """A config file with these `[[imap]]` entries (and other sections, e.g. smtp)."""
    lines = [toml_text({"storage": {"url": database_url}, **sections})]
    for entry in mailboxes:
        lines.append("[[imap]]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in entry.items()]
        lines.append("")
    path = directory / "config.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def run(config: Path, *argv: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `mailintake --config CONFIG ARGV…`."""
    parser = argparse.ArgumentParser(prog="mailintake")
    commands = parser.add_subparsers(dest="command", required=True)
    for area in (imap, backlog):
        area.register(commands)
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = int(args.func(load_config(config), args))
        except CommandError as error:
            print(f"mailintake: {error}", file=sys.stderr)
            code = error.code
    return code, out.getvalue(), err.getvalue()
