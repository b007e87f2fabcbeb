"""A daemon killed between storing and flagging: the mail is fetched again and makes no second
ticket.

The first run is a real process that dies (os._exit, no cleanup, no rollback) right after the
spool committed the batch, before the \\Seen flag and the checkpoint; the second run is the
poller as `serve` runs it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.worker import Worker
from mailintake.storage import mailboxes
from tests.imap.conftest import Pollers, spooled, wait_for
from tests.support.dovecot import Dovecot, MailUser, message

DIES_BEFORE_THE_FLAG = """
import os, sys, json, threading
from mailintake.intake import imap
from mailintake.intake.imap_settings import ImapSettings
from mailintake.storage.database import make_engine, make_sessionmaker

def killed(self, client, uids):
    os._exit(70)

imap.MailboxPoller._after_store = killed
settings = ImapSettings.model_validate(json.loads(sys.argv[2]))
sessions = make_sessionmaker(make_engine(sys.argv[1]))
imap.MailboxPoller(settings, sessions, threading.Event()).take_waiting()
"""


def test_killed_between_store_and_flag_fetches_again_and_makes_one_ticket(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    desk: Desk,
) -> None:
    url = sqlite_sessions.kw["bind"].url.render_as_string(hide_password=False)
    entry = dovecot.entry(user)
    dovecot.deliver(user, [message(1, "crash")])
    died = subprocess.run(
        [sys.executable, "-c", DIES_BEFORE_THE_FLAG, url, json.dumps(entry)],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert died.returncode == 70, died.stderr.decode()
    # Stored, but neither flagged nor past the checkpoint.
    assert [e.message_id for e in spooled(sqlite_sessions)] == ["<crash-1@klant.nl>"]
    assert dovecot.flags(user) == {1: ()}
    settings = dovecot.settings(user)
    checkpoint = mailboxes.load(sqlite_sessions, settings.key)
    assert checkpoint is not None and checkpoint.last_uid == 0

    running = pollers([settings], sqlite_sessions)
    wait_for(lambda: len(spooled(sqlite_sessions)) == 2, what="fetched again after the restart")
    wait_for(lambda: dovecot.flags(user) == {1: (b"\\Seen",)}, what="flagged this time")
    running.stop()
    report = Worker(sqlite_sessions, desk).drain()
    assert (report.created, report.duplicates, report.failures) == (1, 1, [])
    checkpoint = mailboxes.load(sqlite_sessions, settings.key)
    assert checkpoint is not None and checkpoint.last_uid == 1
