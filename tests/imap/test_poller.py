"""The IMAP poller against a real Dovecot: what it takes, when, and what it leaves behind.

Each test has a mailbox of its own on the session's Dovecot; tests that stop the server start
one of their own. Pollers run as `serve` runs them (`run_pollers` on an event loop, a thread per
mailbox), or once over one connection (`take_waiting`) where the test needs no waiting.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.imap import MailboxPoller, MailboxProblem
from mailintake.intake.imap_settings import ImapSettings
from mailintake.intake.worker import Worker
from mailintake.storage import mailboxes
from tests.imap.conftest import LogLines, Pollers, spooled, wait_for
from tests.support.dovecot import Dovecot, MailUser, message, messages, start_dovecot

SEEN = b"\\Seen"


def take(settings: ImapSettings, sessions: sessionmaker[Session], tmp_path: Path) -> None:
    MailboxPoller(settings, sessions, threading.Event(), base_dir=tmp_path).take_waiting()


def test_a_backlog_of_500_is_spooled_once_in_order_and_flagged(
    dovecot: Dovecot, user: MailUser, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # On SQLite and PostgreSQL: the checkpoint's UIDs are unsigned 32-bit numbers.
    backlog = messages(500, "backlog")
    dovecot.deliver(user, backlog)
    # Above 2**31, where a plain INTEGER column would overflow on PostgreSQL.
    dovecot.doveadm("mailbox", "update", "-u", user.name, "--uid-validity", "4000000000", "INBOX")
    settings = dovecot.settings(user, batch_size=64)
    take(settings, sessions, tmp_path)
    entries = spooled(sessions)
    assert [e.message_id for e in entries] == [f"<backlog-{n}@klant.nl>" for n in range(500)]
    assert {e.source for e in entries} == {f"imap:{settings.key}"}
    assert all(SEEN in flags for flags in dovecot.flags(user).values())
    checkpoint = mailboxes.load(sessions, settings.key)
    assert checkpoint is not None and checkpoint.healthy
    assert (checkpoint.last_uid, checkpoint.stored) == (500, 500)
    assert checkpoint.uid_validity == 4_000_000_000
    # Taking again finds nothing new: the checkpoint, not the flags, says what was taken.
    take(settings, sessions, tmp_path)
    assert len(spooled(sessions)) == 500


def test_mail_someone_already_read_is_taken_all_the_same(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with dovecot.client(user) as client:
        client.multiappend("INBOX", [{"msg": message(1, "read"), "flags": [SEEN]},
                                     {"msg": message(2, "unread")}])  # fmt: skip
    take(dovecot.settings(user), sqlite_sessions, tmp_path)
    assert [e.message_id for e in spooled(sqlite_sessions)] == [
        "<read-1@klant.nl>",
        "<unread-2@klant.nl>",
    ]


def test_the_arrival_time_is_the_servers_not_the_pollers(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    delivered = datetime(2026, 3, 2, 15, 59, 12, tzinfo=UTC)
    with dovecot.client(user) as client:
        client.append("INBOX", message(1, "late"), msg_time=delivered)
    take(dovecot.settings(user), sqlite_sessions, tmp_path)
    [entry] = spooled(sqlite_sessions)
    assert entry.received_at == delivered


@pytest.mark.parametrize(
    ("after_store", "left_in_inbox", "in_processed"),
    [("seen", 3, 0), ("move:Processed", 0, 3), ("delete", 0, 0)],
)
def test_each_after_store_action_happens_once_the_spool_has_the_mail(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
    after_store: str,
    left_in_inbox: int,
    in_processed: int,
) -> None:
    with dovecot.client(user) as client:
        client.create_folder("Processed")
    dovecot.deliver(user, messages(3, "action"))
    take(dovecot.settings(user, after_store=after_store), sqlite_sessions, tmp_path)
    assert len(spooled(sqlite_sessions)) == 3
    assert dovecot.count(user) == left_in_inbox
    assert dovecot.count(user, "Processed") == in_processed
    if after_store == "seen":
        assert all(SEEN in flags for flags in dovecot.flags(user).values())


def test_a_move_to_a_folder_that_does_not_exist_takes_nothing_and_says_so(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
) -> None:
    dovecot.deliver(user, messages(2, "nowhere"))
    settings = dovecot.settings(user, after_store="move:Archief")
    running = pollers([settings], sqlite_sessions)
    wait_for(lambda: imap_log.events("after_store_problem"), what="the problem logged")
    running.stop()
    assert spooled(sqlite_sessions) == []
    assert dovecot.count(user) == 2
    [problem] = imap_log.events("after_store_problem")
    assert "'Archief', which does not exist" in problem["problem"]
    assert "create that folder" in problem["problem"]
    checkpoint = mailboxes.load(sqlite_sessions, settings.key)
    assert checkpoint is not None and not checkpoint.healthy


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "poll"])
def test_new_mail_is_taken_within_the_idle_or_poll_interval(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
    idle: bool,
) -> None:
    # With IDLE the safety-net look comes only every 30 s: what is quicker is IDLE's doing.
    settings = dovecot.settings(user, idle=idle, poll_seconds=30.0 if idle else 1.0)
    running = pollers([settings], sqlite_sessions)
    wait_for(lambda: imap_log.events("connected"), what="connected")
    assert imap_log.events("connected")[0]["idle"] == ("yes" if idle else "no")
    # Not in the same second as the poller's SELECT: Dovecot on Maildir may not tell of that
    # one in IDLE (the safety net takes it).
    threading.Event().wait(1.0)
    dovecot.deliver(user, [message(1, "fresh")])
    # IDLE: as soon as Dovecot says EXISTS (it waits half a second to gather changes);
    # polling: within one poll interval.
    seconds = wait_for(lambda: spooled(sqlite_sessions), timeout=5)
    assert seconds < 1.5
    [entry] = spooled(sqlite_sessions)
    wait_for(lambda: running.notified == [entry.id], what="on_stored called with the spool id")
    # A stop is honoured within a few seconds, in IDLE too.
    assert running.stop() < 3


def test_a_10_mb_message_arrives_byte_for_byte(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    line = b"Bijlage: logbestand van de centrale, regel voor regel opgeslagen.   \r\n"
    big = message(1, "big").rstrip(b"\r\n") + b"\r\n" + line * (10 * 1024 * 1024 // len(line))
    dovecot.deliver(user, [message(0, "small"), big, message(2, "small")])
    take(dovecot.settings(user), sqlite_sessions, tmp_path)
    entries = spooled(sqlite_sessions)
    assert [e.size for e in entries][1] == len(big) > 10 * 1024 * 1024
    from mailintake.storage.spool import Spool

    assert hashlib.sha256(Spool(sqlite_sessions).raw(entries[1].id) or b"").digest() == (
        hashlib.sha256(big).digest()
    )


def test_bad_credentials_mark_that_mailbox_unhealthy_and_the_others_carry_on(
    dovecot: Dovecot,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
) -> None:
    good, locked = dovecot.add_user(), dovecot.add_user()
    dovecot.deliver(locked, [message(1, "locked")])
    wrong = dovecot.settings(locked, password="wrong", reconnect_max_seconds=0.2)
    right = dovecot.settings(good)
    running = pollers([wrong, right], sqlite_sessions)
    wait_for(lambda: imap_log.events("connected"), what="the good mailbox connected")
    dovecot.deliver(good, [message(1, "good"), message(2, "good")])
    wait_for(lambda: len(spooled(sqlite_sessions)) == 2, what="the good mailbox's mail")
    # Long enough for the bad login to be retried (every 5 × 0.2 s): still one line.
    wait_for(lambda: dovecot.log_text().count(f"user=<{locked.name}>") >= 2, timeout=5)
    running.stop()
    [failed] = imap_log.events("login_failed")
    assert failed["mailbox"] == wrong.label
    assert f"refused the login of '{locked.name}'" in failed["problem"]
    assert "check username and password" in failed["problem"]
    state = mailboxes.load(sqlite_sessions, wrong.key)
    assert state is not None and not state.healthy and "login" in (state.problem or "")
    healthy = mailboxes.load(sqlite_sessions, right.key)
    assert healthy is not None and healthy.healthy
    assert dovecot.count(locked) == 1


def test_a_restart_of_the_server_is_one_outage_in_the_log_and_loses_nothing(
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
) -> None:
    server = start_dovecot()
    try:
        user = server.add_user()
        settings = server.settings(user, reconnect_max_seconds=0.4)
        running = pollers([settings], sqlite_sessions)
        server.deliver(user, messages(3, "before"))
        wait_for(lambda: len(spooled(sqlite_sessions)) == 3, what="mail before the restart")
        server.stop()
        # Down for several backoff rounds.
        wait_for(lambda: imap_log.events("unreachable"), what="the outage logged")
        threading.Event().wait(1.5)
        server.start()
        server.deliver(user, messages(3, "after"))
        wait_for(lambda: len(spooled(sqlite_sessions)) == 6, what="mail after the restart")
        running.stop()
    finally:
        print(server.log_text())
        server.remove()
    assert len(imap_log.events("unreachable")) == 1
    [recovered] = imap_log.events("recovered")
    assert recovered["was"] == "connection"
    assert len({e.message_id for e in spooled(sqlite_sessions)}) == 6


def test_a_new_uidvalidity_rescans_and_dedupe_makes_no_second_tickets(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
    desk: Desk,
) -> None:
    worker = Worker(sqlite_sessions, desk)
    settings = dovecot.settings(user)
    running = pollers([settings], sqlite_sessions)
    dovecot.deliver(user, messages(3, "kept"))
    wait_for(lambda: len(spooled(sqlite_sessions)) == 3)
    old = dovecot.uid_validity(user)
    renumbered = str(old + 1000)
    dovecot.doveadm("mailbox", "update", "-u", user.name, "--uid-validity", renumbered, "INBOX")
    dovecot.deliver(user, [message(9, "new")])
    wait_for(lambda: len(spooled(sqlite_sessions)) == 3 + 4, what="the rescan and the new mail")
    running.stop()
    [changed] = imap_log.events("uidvalidity_changed")
    assert (changed["old"], changed["new"]) == (old, old + 1000)
    report = worker.drain()
    assert (report.created, report.duplicates, report.failures) == (4, 3, [])


def test_a_folder_recreated_with_lower_uids_is_taken_after_all(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    settings = dovecot.settings(user, folder="Support")
    dovecot.deliver(user, messages(5, "first"), folder="Support")
    take(settings, sqlite_sessions, tmp_path)
    # Restored from a backup while the daemon was down: new UIDVALIDITY, UIDs from 1 again,
    # all below the old checkpoint (5).
    with dovecot.client(user) as client:
        client.delete_folder("Support")
    dovecot.deliver(user, messages(2, "restored"), folder="Support")
    take(settings, sqlite_sessions, tmp_path)
    assert [e.message_id for e in spooled(sqlite_sessions)][5:] == [
        "<restored-0@klant.nl>",
        "<restored-1@klant.nl>",
    ]


def test_a_database_outage_leaves_mail_and_checkpoint_where_they_were(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mailintake.storage.spool import Spool

    real = Spool.store_many
    outage = threading.Event()
    outage.set()

    def store_many(self: Spool, arrivals: list) -> list[int]:  # type: ignore[type-arg]
        if outage.is_set():
            raise OSError("disk I/O error")
        return real(self, arrivals)

    monkeypatch.setattr(Spool, "store_many", store_many)
    dovecot.deliver(user, messages(2, "outage"))
    settings = dovecot.settings(user, reconnect_max_seconds=0.2)
    running = pollers([settings], sqlite_sessions)
    wait_for(lambda: imap_log.events("store_failed"), what="the failure logged")
    threading.Event().wait(1.0)  # several retries
    assert all(SEEN not in flags for flags in dovecot.flags(user).values())
    checkpoint = mailboxes.load(sqlite_sessions, settings.key)
    assert checkpoint is not None and checkpoint.last_uid == 0 and not checkpoint.healthy
    outage.clear()
    wait_for(lambda: len(spooled(sqlite_sessions)) == 2, what="taken once the database is back")
    wait_for(lambda: imap_log.events("recovered"))
    running.stop()
    assert len(imap_log.events("store_failed")) == 1
    assert all(SEEN in flags for flags in dovecot.flags(user).values())


def test_take_existing_false_starts_at_the_mail_that_arrives_next(
    dovecot: Dovecot, user: MailUser, sqlite_sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    dovecot.deliver(user, messages(4, "old"))
    settings = dovecot.settings(user, take_existing=False)
    take(settings, sqlite_sessions, tmp_path)
    dovecot.deliver(user, [message(1, "next")])
    take(settings, sqlite_sessions, tmp_path)
    assert [e.message_id for e in spooled(sqlite_sessions)] == ["<next-1@klant.nl>"]
    assert sum(SEEN in flags for flags in dovecot.flags(user).values()) == 1


def test_imaps_and_starttls_verify_the_certificate(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    tmp_path: Path,
    imap_log: LogLines,
) -> None:
    dovecot.deliver(user, [message(1, "tls")])
    assert dovecot.imaps_port is not None
    trusted = dovecot.certificate
    imaps = dovecot.settings(user, tls="imaps", port=dovecot.imaps_port, ca_file=trusted)
    take(imaps, sqlite_sessions, tmp_path)
    assert len(spooled(sqlite_sessions)) == 1
    starttls = dovecot.settings(user, tls="starttls", ca_file=dovecot.certificate)
    take(starttls, sqlite_sessions, tmp_path)  # same mailbox key as plain: nothing new
    untrusted = dovecot.settings(user, tls="imaps", port=dovecot.imaps_port)
    with pytest.raises(MailboxProblem, match=r"not trusted .*set ca_file"):
        take(untrusted, sqlite_sessions, tmp_path)
    assert datetime.now(UTC) - spooled(sqlite_sessions)[0].received_at < timedelta(minutes=5)


def test_a_mailbox_configured_twice_is_followed_once(
    dovecot: Dovecot,
    user: MailUser,
    sqlite_sessions: sessionmaker[Session],
    pollers: Callable[..., Pollers],
    imap_log: LogLines,
) -> None:
    dovecot.deliver(user, messages(3, "twice"))
    settings = dovecot.settings(user)
    running = pollers([settings, dovecot.settings(user, name="again")], sqlite_sessions)
    wait_for(lambda: len(spooled(sqlite_sessions)) == 3)
    running.stop()
    assert len(spooled(sqlite_sessions)) == 3
    [duplicate] = imap_log.events("duplicate_mailbox")
    assert duplicate["mailbox"] == "again" and duplicate["key"] == settings.key
