"""`mailintake serve` as a process: SMTP over loopback in, tickets out, nothing lost.

Each test talks to a real daemon started with its own config, database and free port, using
smtplib and swaks as a customer's MTA would.
"""

from __future__ import annotations

import shutil
import smtplib
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.support.configs import write_config
from tests.support.servers import Daemon, free_port, unavailable

LIMIT = 200_000


def make_daemon(tmp_path: Path, **smtp: object) -> Daemon:
    port = free_port()
    config = write_config(
        tmp_path,
        storage={"url": "sqlite:///data/mailintake.db"},
        smtp={"port": port, "recipients": ["support@example.nl", "noc@example.nl"],
              "max_message_bytes": LIMIT, **smtp},
        pipeline={"poll_seconds": 0.2},
    )  # fmt: skip
    daemon = Daemon(tmp_path, config, port)
    daemon.cli("init", check=True)
    return daemon


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    daemon = make_daemon(tmp_path)
    daemon.start()
    yield daemon
    if daemon.process is not None:
        assert daemon.stop() == 0, daemon.log_text()


def message(
    message_id: str, subject: str = "Storing", body: str = "Geen kiestoon."
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Jan de Vries <jan@klant.nl>"
    mail["To"] = "support@example.nl"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    mail.set_content(body)
    return mail


def raw(message_id: str, **fields: str) -> bytes:
    return message(message_id, **fields).as_bytes(policy=SMTP)


def query(daemon: Daemon, sql: str, **params: object) -> list[tuple]:
    engine = create_engine(f"sqlite:///{daemon.workdir / 'data' / 'mailintake.db'}")
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql), params)]
    finally:
        engine.dispose()


def wait_for(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until the daemon has done its part; the pipeline runs on its own clock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("the daemon did not get there in time")


def tickets_with(daemon: Daemon, message_id: str) -> list[tuple]:
    return query(
        daemon,
        "SELECT t.ref FROM tickets t JOIN ticket_messages m ON m.ticket_id = t.id "
        "WHERE m.message_id = :mid",
        mid=message_id,
    )


def test_smtplib_mail_becomes_a_ticket_the_cli_lists(daemon: Daemon) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.ehlo()
        assert client.has_extn("size") and client.esmtp_features["size"] == str(LIMIT)
        assert client.has_extn("8bitmime") and client.has_extn("smtputf8")
        client.send_message(message("<first@klant.nl>", "Telefoon receptie dood"))
        assert client.noop()[0] == 250
    wait_for(lambda: tickets_with(daemon, "<first@klant.nl>"))
    listing = daemon.cli("tickets", "list", check=True).stdout.decode()
    assert "Telefoon receptie dood" in listing and "jan@klant.nl" in listing


def test_the_250_names_the_spool_id_and_the_same_mail_twice_makes_one_ticket(
    daemon: Daemon,
) -> None:
    replies = []
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.ehlo()
        for _ in range(2):
            client.mail("jan@klant.nl")
            client.rcpt("support@example.nl")
            replies.append(client.data(raw("<twice@klant.nl>")))
    assert [code for code, _ in replies] == [250, 250]
    spool_ids = [int(reply.split()[-1]) for _, reply in replies]
    assert all(reply.startswith(b"2.0.0") for _, reply in replies)
    wait_for(lambda: query(daemon, "SELECT count(*) FROM spool WHERE state = 'processed'")
             == [(2,)])  # fmt: skip
    assert len(tickets_with(daemon, "<twice@klant.nl>")) == 1
    duplicate = query(daemon, "SELECT duplicate_of FROM spool WHERE id = :i", i=spool_ids[1])
    assert duplicate == [(spool_ids[0],)]


def test_swaks_to_support_becomes_a_ticket(daemon: Daemon) -> None:
    swaks = shutil.which("swaks")
    if swaks is None:
        unavailable("swaks is not installed (apt-get install swaks)")
    result = subprocess.run(
        [swaks, "--server", f"127.0.0.1:{daemon.port}", "--to", "support@example.nl",
         "--from", "piet@klant.nl", "--header", "Subject: swaks storing",
         "--header", "Message-Id: <swaks-1@klant.nl>", "--body", "Locatie: Utrecht"],
        capture_output=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert b"250 2.0.0 Message accepted" in result.stdout
    wait_for(lambda: tickets_with(daemon, "<swaks-1@klant.nl>"))
    assert "swaks storing" in daemon.cli("tickets", "list").stdout.decode()


def test_a_foreign_recipient_gets_550_and_the_listener_is_no_relay(daemon: Daemon) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.ehlo()
        client.mail("spammer@evil.example")
        code, reply = client.rcpt("victim@elsewhere.example")
        assert code == 550 and reply.startswith(b"5.1.1")
        assert client.rcpt("Support@Example.NL")[0] == 250
        assert client.rcpt("support+T-2026-000001.abc@example.nl")[0] == 250
        assert client.rcpt("noc@example.nl")[0] == 250


def test_an_oversized_mail_gets_552_whether_or_not_it_declares_its_size(daemon: Daemon) -> None:
    big = raw("<big@klant.nl>", body="x" * (LIMIT + 10))
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.ehlo()
        code, reply = client.mail("jan@klant.nl", [f"SIZE={len(big)}"])
        assert (code, reply[:5]) == (552, b"5.3.4")
        client.rset()
        client.mail("jan@klant.nl")
        client.rcpt("support@example.nl")
        code, reply = client.data(big)
        assert (code, reply[:5]) == (552, b"5.3.4")
    assert query(daemon, "SELECT count(*) FROM spool") == [(0,)]


def test_8bit_and_smtputf8_mail_is_kept_byte_for_byte(daemon: Daemon) -> None:
    raw = (
        "From: José Müller <josé@klant.nl>\r\nTo: support@example.nl\r\n"
        "Subject: Storing in Café Zoë\r\nMessage-ID: <utf8@klant.nl>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Het toestel bij de receptie werkt niet — graag hulp.\r\n"
    ).encode()
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.ehlo()
        client.sendmail("josé@klant.nl", ["support@example.nl"], raw,
                        mail_options=["SMTPUTF8", "BODY=8BITMIME"])  # fmt: skip
    wait_for(lambda: tickets_with(daemon, "<utf8@klant.nl>"))
    assert query(daemon, "SELECT raw, envelope_from FROM spool") == [(raw, "josé@klant.nl")]
    assert query(daemon, "SELECT subject, requester FROM tickets") == [
        ("Storing in Café Zoë", "josé@klant.nl")
    ]


def test_many_clients_at_once_all_get_250_and_tickets(daemon: Daemon) -> None:
    clients, per_client = 16, 5
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
                for i in range(per_client):
                    client.send_message(message(f"<c{n}-{i}@klant.nl>"))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    wait_for(lambda: query(daemon, "SELECT count(*) FROM tickets") == [(clients * per_client,)])


def test_storage_failure_answers_451_and_stores_nothing_half(tmp_path: Path) -> None:
    daemon = make_daemon(tmp_path)
    database = daemon.workdir / "data" / "mailintake.db"
    daemon.start()
    try:
        with sqlite3.connect(database) as db:
            db.execute("CREATE TRIGGER disk_full BEFORE INSERT ON spool "
                       "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")  # fmt: skip
        with smtplib.SMTP("127.0.0.1", daemon.port) as client:
            client.ehlo()
            client.mail("jan@klant.nl")
            client.rcpt("support@example.nl")
            code, reply = client.data(raw("<retry@klant.nl>"))
            assert (code, reply[:5]) == (451, b"4.3.0")
            assert b"disk" not in reply
            assert query(daemon, "SELECT count(*) FROM spool") == [(0,)]

            with sqlite3.connect(database) as db:
                db.execute("DROP TRIGGER disk_full")
            client.rset()
            client.mail("jan@klant.nl")
            client.rcpt("support@example.nl")
            assert client.data(raw("<retry@klant.nl>"))[0] == 250
        wait_for(lambda: tickets_with(daemon, "<retry@klant.nl>"))
        assert "event=store_failed" in daemon.log_text()
    finally:
        assert daemon.stop() == 0


def test_sigterm_in_a_burst_loses_nothing_that_got_250(tmp_path: Path) -> None:
    daemon = make_daemon(tmp_path)
    daemon.start()
    accepted: dict[str, int] = {}
    lock = threading.Lock()
    enough = threading.Event()

    def burst(n: int) -> None:
        for i in range(1000):
            try:
                with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as client:
                    client.ehlo()
                    while True:
                        mid = f"<burst-{n}-{i}@klant.nl>"
                        client.mail("jan@klant.nl")
                        client.rcpt("support@example.nl")
                        code, reply = client.data(raw(mid))
                        if code != 250:
                            return
                        with lock:
                            accepted[mid] = int(reply.split()[-1])
                            if len(accepted) >= 60:
                                enough.set()
                        i += 1
            except (OSError, smtplib.SMTPException):
                return

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    assert enough.wait(60)
    assert daemon.stop() == 0
    for thread in threads:
        thread.join(30)
    assert "event=stopped" in daemon.log_text()

    stored = dict(query(daemon, "SELECT message_id, id FROM spool"))
    missing = {mid for mid in accepted if stored.get(mid) != accepted[mid]}
    print(f"\n{len(accepted)} got 250 before the daemon stopped; {len(stored)} in the spool")
    assert missing == set(), f"{len(missing)} messages got 250 but are not in the spool"
    result = daemon.cli("process", "--once", check=True).stdout.decode()
    assert ", 0 failed" in result
    for mid in accepted:
        assert len(tickets_with(daemon, mid)) == 1
