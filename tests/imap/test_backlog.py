"""`mailintake import mbox|maildir`: an old mailbox into the spool, once, with a progress bar,
and no second ticket for mail the desk already has."""

from __future__ import annotations

import mailbox
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.imap import MailboxPoller
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.models import Event, OutboxMessage
from tests.imap.cli import run, write_config
from tests.imap.conftest import spooled
from tests.support.dovecot import Dovecot, MailUser, message


def config_for(tmp_path: Path, sessions: sessionmaker[Session]) -> Path:
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    return write_config(tmp_path, url, [])


def lf(raw: bytes) -> bytes:
    """As a Unix mail store keeps it: LF line ends, so other bytes than the IMAP copy."""
    return raw.replace(b"\r\n", b"\n")


def make_mbox(path: Path, raws: list[bytes]) -> None:
    box = mailbox.mbox(path)
    try:
        for number, raw in enumerate(raws):
            entry = mailbox.mboxMessage(lf(raw))
            delivered = datetime(2026, 3, 2, number, 15, tzinfo=UTC)
            entry.set_from("jan@klant.nl", delivered.timetuple())
            box.add(entry)
    finally:
        box.close()


def test_an_mbox_is_imported_once_with_its_delivery_times(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    make_mbox(tmp_path / "support.mbox", [message(n, "mbox") for n in range(3)])
    config = config_for(tmp_path, sqlite_sessions)
    code, out, err = run(config, "import", "mbox", str(tmp_path / "support.mbox"))
    assert code == 0, err
    assert out.startswith("3 message(s) read: 3 stored, 0 already in the spool, 0 not a message")
    assert "importing" in err and "3/3" in err  # the bar, on stderr
    entries = spooled(sqlite_sessions)
    assert [e.message_id for e in entries] == [f"<mbox-{n}@klant.nl>" for n in range(3)]
    assert entries[1].received_at == datetime(2026, 3, 2, 1, 15, tzinfo=UTC)
    assert entries[0].source == f"import:mbox:{tmp_path / 'support.mbox'}"
    # Again: nothing new.
    code, out, _ = run(config, "import", "mbox", "--no-progress", str(tmp_path / "support.mbox"))
    assert (code, out.splitlines()[0]) == (0, "3 message(s) read: 0 stored, 3 already in the "
                                               "spool, 0 not a message")  # fmt: skip
    assert len(spooled(sqlite_sessions)) == 3


def test_a_maildir_goes_in_delivery_order_and_mail_the_desk_has_makes_no_ticket(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
    desk: Desk,
) -> None:
    # One report already came in over IMAP.
    dovecot.deliver(user, [message(1, "known")])
    MailboxPoller(dovecot.settings(user), sqlite_sessions, threading.Event()).take_waiting()
    folder = tmp_path / "Maildir"
    box = mailbox.Maildir(folder)
    raws = {"b": message(2, "old"), "a": message(1, "known"), "c": message(3, "old")}
    for number, (_name, raw) in enumerate(sorted(raws.items())):
        key = box.add(lf(raw))
        when = datetime(2025, 12, 1 + number, 9, 0, tzinfo=UTC).timestamp()
        os.utime(folder / "new" / key, (when, when))
    (folder / "cur" / "junk").write_bytes(b"\x00\x01\x02" * 100)
    code, out, err = run(config_for(tmp_path, sqlite_sessions), "import", "maildir", str(folder))
    assert code == 0, err
    assert out.startswith("4 message(s) read: 3 stored, 0 already in the spool, 1 not a message")
    assert "skipped junk: binary data" in err
    assert [e.message_id for e in spooled(sqlite_sessions)] == [
        "<known-1@klant.nl>",  # over IMAP
        "<known-1@klant.nl>",  # the same report in the old mailbox, with LF line ends
        "<old-2@klant.nl>",
        "<old-3@klant.nl>",
    ]
    report = Worker(sqlite_sessions, desk).drain()
    assert (report.created, report.duplicates, report.failures) == (3, 1, [])
    # Old mail becomes tickets quietly: only the one that came in over IMAP was answered.
    with transaction(sqlite_sessions, write=False) as session:
        purposes = list(session.scalars(select(OutboxMessage.purpose)))
        imported = session.scalar(
            select(func.count()).select_from(Event).where(Event.type == "imported")
        )
    assert imported == 2
    assert purposes.count("acknowledgement") + purposes.count("clarification") == 1


@pytest.mark.parametrize("kind", ["mbox", "maildir"])
def test_what_cannot_be_read_is_a_usage_error(
    sqlite_sessions: sessionmaker[Session], tmp_path: Path, kind: str
) -> None:
    config = config_for(tmp_path, sqlite_sessions)
    code, _, err = run(config, "import", kind, str(tmp_path / "nope"))
    assert code == 2
    assert str(tmp_path / "nope") in err
    assert ("no such file" if kind == "mbox" else "not a Maildir") in err
