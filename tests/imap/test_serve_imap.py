"""`mailintake serve` with `[[imap]]` mailboxes, and the `imap`/`import` commands, as processes."""

from __future__ import annotations

import mailbox
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.imap.cli import write_config
from tests.imap.conftest import wait_for
from tests.support.dovecot import Dovecot, MailUser, message, messages
from tests.support.servers import Daemon, free_port


def make_daemon(tmp_path: Path, entries: list[dict]) -> Daemon:  # type: ignore[type-arg]
    port = free_port()
    config = write_config(
        tmp_path, "sqlite:///data/mailintake.db", entries,
        smtp={"port": port}, pipeline={"poll_seconds": 0.2}, outbound={"enabled": False},
    )  # fmt: skip
    daemon = Daemon(tmp_path, config, port)
    daemon.cli("init", check=True)
    return daemon


@pytest.fixture
def served(tmp_path: Path, dovecot: Dovecot, user: MailUser) -> Iterator[Daemon]:
    daemon = make_daemon(tmp_path, [{**dovecot.entry(user), "name": "support"}])
    daemon.start()
    yield daemon
    if daemon.process is not None:
        assert daemon.stop() == 0, daemon.log_text()


def tickets(daemon: Daemon) -> str:
    return daemon.cli("tickets", "list", check=True).stdout.decode()


def test_mail_in_the_mailbox_becomes_a_ticket(
    served: Daemon, dovecot: Dovecot, user: MailUser
) -> None:
    dovecot.deliver(user, [message(1, "served")])
    wait_for(lambda: "Storing served 1" in tickets(served), timeout=20)
    assert all(b"\\Seen" in flags for flags in dovecot.flags(user).values())
    log = served.log_text()
    assert "logger=mailintake.imap event=connected" in log
    assert "event=stored" in log and "message_id=<served-1@klant.nl>" in log


def test_sigterm_in_idle_stops_within_seconds(served: Daemon) -> None:
    wait_for(lambda: "event=connected" in served.log_text(), timeout=20)
    assert served.process is not None
    started = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=15) == 0
    served.process = None
    assert time.monotonic() - started < 5
    assert "logger=mailintake.imap event=stopped" in served.log_text()


def test_killed_daemon_takes_the_mail_again_and_makes_one_ticket(
    tmp_path: Path, dovecot: Dovecot, user: MailUser
) -> None:
    daemon = make_daemon(tmp_path, [{**dovecot.entry(user), "name": "support"}])
    dovecot.deliver(user, messages(20, "killed"))
    daemon.start()
    wait_for(lambda: "event=stored" in daemon.log_text(), timeout=20)
    assert daemon.process is not None
    daemon.process.kill()  # wherever it was: between store and flag, or not
    daemon.process.wait()
    daemon.process = None
    daemon.start()
    wait_for(lambda: tickets(daemon).count("Storing killed") == 20, timeout=30)
    assert daemon.stop() == 0
    assert tickets(daemon).count("Storing killed") == 20


def test_imap_check_and_import_are_commands(
    tmp_path: Path, dovecot: Dovecot, user: MailUser
) -> None:
    daemon = make_daemon(tmp_path, [{**dovecot.entry(user), "name": "support"}])
    result = daemon.cli("imap", "check")
    assert result.returncode == 0, result.stderr.decode()
    assert "support" in result.stdout.decode() and "WAITING" in result.stdout.decode()
    box = mailbox.mbox(tmp_path / "old.mbox")
    box.add(message(1, "old"))
    box.close()
    result = daemon.cli("import", "mbox", "--no-progress", str(tmp_path / "old.mbox"))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().startswith("1 message(s) read: 1 stored")
