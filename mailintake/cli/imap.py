"""`mailintake imap check`: each configured mailbox as the poller would see it, as a table.

For every `[[imap]]` entry: can it log in, does the folder open, does the server offer IDLE, how
many messages the folder holds and how many wait above the checkpoint, and a warning when the
folder holds messages at or below the checkpoint that the spool has no copy of (the daemon will
never take those). The folder is opened read-only; nothing on the server changes. Exit 0 when
every mailbox can be used and nothing is left behind, 1 otherwise.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailintake.cli.common import EXIT_FAILED, add_command, add_group, open_database, print_table
from mailintake.config import Config

if TYPE_CHECKING:
    from imapclient import IMAPClient
    from sqlalchemy.orm import Session, sessionmaker

    from mailintake.intake.imap_settings import ImapSettings
    from mailintake.storage.mailboxes import Checkpoint


@dataclass
class MailboxReport:
    label: str
    login: str = "-"
    folder: str = "-"
    idle: str = "-"
    messages: int | None = None
    waiting: int | None = None
    missed: int | None = None
    checkpoint: Checkpoint | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def inspect(
    settings: ImapSettings, sessions: sessionmaker[Session], base_dir: Path
) -> MailboxReport:
    from mailintake.intake.imap import CONNECTION_ERRORS, MailboxProblem, close, connect, describe
    from mailintake.storage import mailboxes

    report = MailboxReport(settings.label)
    report.checkpoint = mailboxes.load(sessions, settings.key)
    if report.checkpoint is not None and not report.checkpoint.healthy:
        report.warnings.append(f"the daemon marked it unhealthy: {report.checkpoint.problem}")
    try:
        client = connect(settings, base_dir)
    except MailboxProblem as problem:
        report.login = "refused" if problem.kind == "login" else "failed"
        report.problems.append(str(problem))
        return report
    except CONNECTION_ERRORS as error:
        report.login = "unreachable"
        report.problems.append(f"{settings.host}:{settings.port}: {describe(error)}")
        return report
    report.login = "ok"
    try:
        _inspect_folder(client, settings, sessions, report)
    except CONNECTION_ERRORS as error:
        report.problems.append(f"connection lost: {describe(error)}")
    finally:
        close(client)
    return report


def _inspect_folder(
    client: IMAPClient,
    settings: ImapSettings,
    sessions: sessionmaker[Session],
    report: MailboxReport,
) -> None:
    from mailintake.intake.imap import MailboxProblem, select

    report.idle = "yes" if client.has_capability("IDLE") else "no"
    if report.idle == "yes" and not settings.idle:
        report.idle = "yes (off)"
    try:
        # EXAMINE: looking must not change \Recent or anything else.
        state = select(client, settings.folder, readonly=True)
    except MailboxProblem as problem:
        report.folder = "missing"
        report.problems.append(str(problem))
        return
    report.folder = "ok"
    action = settings.action
    if action.action == "move" and not client.folder_exists(action.folder):
        report.problems.append(
            f"after_store moves to {action.folder!r}, which does not exist: create that folder"
        )
    uids = sorted(client.search(["ALL"]))
    report.messages = len(uids)
    checkpoint = report.checkpoint
    last_uid = 0
    if checkpoint is not None and checkpoint.uid_validity == state.uid_validity:
        last_uid = checkpoint.last_uid
    elif checkpoint is not None and checkpoint.uid_validity is not None:
        report.warnings.append(
            f"UIDVALIDITY changed ({checkpoint.uid_validity} → {state.uid_validity}): the daemon "
            "will take the whole folder again; what it had becomes duplicates, not tickets"
        )
    elif not settings.take_existing:
        last_uid = state.uid_next - 1 if state.uid_next else max(uids, default=0)
    report.waiting = sum(1 for uid in uids if uid > last_uid)
    report.missed = len(never_spooled(client, sessions, [uid for uid in uids if uid <= last_uid]))
    if report.missed:
        report.warnings.append(
            f"{report.missed} message(s) at or below the checkpoint (UID {last_uid}) were never "
            "spooled and will not be taken: import them (`mailintake import maildir` or "
            "`mbox`), or forward them to the desk"
        )


def never_spooled(
    client: IMAPClient, sessions: sessionmaker[Session], uids: Sequence[int]
) -> list[int]:
    """Which of these the spool has no copy of, by Message-ID (by sha256 when there is none)."""
    from mailintake.headers import header_message_id
    from mailintake.intake.imap import windows
    from mailintake.storage.mailboxes import spooled

    missing: list[int] = []
    header = "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"
    for window in windows(uids):
        by_id: dict[str, int] = {}
        no_id: list[int] = []
        for uid, data in client.fetch(list(window), [header]).items():
            value = next((v for k, v in data.items() if k.startswith(b"BODY[HEADER")), b"")
            message_id = header_message_id(value) if isinstance(value, bytes) else None
            if message_id:
                by_id[message_id] = uid
            else:
                no_id.append(uid)
        known = spooled(sessions, message_ids=list(by_id))
        missing += [uid for message_id, uid in by_id.items() if message_id not in known]
        if no_id:
            digests = {
                hashlib.sha256(data.get(b"BODY[]", b"")).hexdigest(): uid
                for uid, data in client.fetch(no_id, ["BODY.PEEK[]"]).items()
            }
            known = spooled(sessions, digests=list(digests))
            missing += [uid for digest, uid in digests.items() if digest not in known]
    return sorted(missing)


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


def cmd_imap_check(config: Config, args: argparse.Namespace) -> int:
    if not config.imap:
        print("no [[imap]] mailboxes configured (see config.example.toml)")
        return 0
    sessions = open_database(config)
    reports = [inspect(entry, sessions, config.base_dir) for entry in config.imap]
    table = [("MAILBOX", "LOGIN", "FOLDER", "IDLE", "MESSAGES", "WAITING", "CHECKPOINT", "STATE")]
    for entry, report in zip(config.imap, reports, strict=True):
        checkpoint = report.checkpoint
        position = "-" if checkpoint is None else f"UID {checkpoint.last_uid}"
        state = "problem" if report.problems else "warning" if report.warnings else "ok"
        counts = _count(report.messages), _count(report.waiting)
        table.append((entry.label, report.login, report.folder, report.idle, *counts, position,
                      state))  # fmt: skip
    print_table(table)
    notes = [f"problem: {r.label}: {problem}" for r in reports for problem in r.problems]
    notes += [f"warning: {r.label}: {warning}" for r in reports for warning in r.warnings]
    if notes:
        print("\n" + "\n".join(notes))
    if any(report.problems or report.missed for report in reports):
        return EXIT_FAILED
    return 0


def register(commands: Any) -> None:
    imap = add_group(commands, "imap", "look at the configured IMAP mailboxes")
    add_command(
        imap, "check", cmd_imap_check,
        "log in to each mailbox and show what waits and what was left behind",
    )  # fmt: skip
