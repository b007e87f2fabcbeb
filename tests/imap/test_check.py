"""`mailintake imap check`: login, folder, IDLE, what waits, and what was left behind."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mailintake.storage import mailboxes
from tests.imap.cli import run, write_config
from tests.support.dovecot import Dovecot, MailUser, messages


def url(sessions: sessionmaker[Session]) -> str:
    return sessions.kw["bind"].url.render_as_string(hide_password=False)


def rows(output: str) -> dict[str, list[str]]:
    lines = output.strip().splitlines()
    return {line.split()[0]: line.split()[1:] for line in lines[1:] if line and ":" not in line}


def test_a_healthy_mailbox_shows_what_waits(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    dovecot.deliver(user, messages(3, "waiting"))
    entry = {**dovecot.entry(user), "name": "support"}
    config = write_config(tmp_path, url(sqlite_sessions), [entry])
    code, out, _ = run(config, "imap", "check")
    assert code == 0, out
    header = out.splitlines()[0].split()
    assert header == ["MAILBOX", "LOGIN", "FOLDER", "IDLE", "MESSAGES", "WAITING", "CHECKPOINT",
                      "STATE"]  # fmt: skip
    assert rows(out)["support"] == ["ok", "ok", "yes", "3", "3", "-", "ok"]
    # Looking changed nothing.
    assert all(flags == () for flags in dovecot.flags(user).values())


def test_refused_logins_and_missing_folders_are_problems_with_their_fix(
    dovecot: Dovecot, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    locked, lost = dovecot.add_user(), dovecot.add_user()
    config = write_config(tmp_path, url(sqlite_sessions), [
        {**dovecot.entry(locked), "name": "locked", "password": "wrong"},
        {**dovecot.entry(lost), "name": "lost", "folder": "Storingen"},
    ])  # fmt: skip
    code, out, _ = run(config, "imap", "check")
    assert code == 1
    table = rows(out)
    assert table["locked"][:2] == ["refused", "-"]
    assert table["lost"][:2] == ["ok", "missing"]
    assert "problem: locked: " in out and "check username and password" in out
    assert "problem: lost: folder 'Storingen' cannot be opened" in out


def test_mail_below_the_checkpoint_that_was_never_spooled_is_a_warning(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    entry = {**dovecot.entry(user), "name": "support"}
    dovecot.deliver(user, messages(4, "behind"))
    config = write_config(tmp_path, url(sqlite_sessions), [entry])
    settings = dovecot.settings(user)
    # A checkpoint moved past mail the spool never got (a restored database, say).
    mailboxes.start_over(sqlite_sessions, settings.key, dovecot.uid_validity(user), 4)
    code, out, _ = run(config, "imap", "check")
    assert code == 1
    assert rows(out)["support"] == ["ok", "ok", "yes", "4", "0", "UID", "4", "warning"]
    assert "4 message(s) at or below the checkpoint (UID 4) were never spooled" in out
    assert "mailintake import maildir" in out
