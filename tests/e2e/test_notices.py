"""What the customer and the engineers receive, through a running daemon and a real SMTP sink.

The daemon takes mail over SMTP, makes tickets and sends its acknowledgements, clarification
requests and dispatches through the outbox to a fake MTA on loopback, which records them.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.e2e.test_serve import wait_for
from tests.support.desks import start_desk
from tests.support.mta import FakeMta
from tests.support.servers import Daemon


@pytest.fixture
def daemon(tmp_path: Path, mta: FakeMta) -> Iterator[Daemon]:
    daemon = start_desk(
        tmp_path,
        mta,
        '[[customer]]\nname = "Acme BV"\nplan = "premium"\ndomains = ["acme.nl"]\n'
        'language = "nl"\n\n'
        '[[customer]]\nname = "Globex"\nplan = "standard"\ndomains = ["globex.com"]\n'
        'language = "en"\n',
        notifier={"acknowledgements": {"max_per_sender_per_hour": 2}},
    )
    yield daemon
    assert daemon.stop() == 0, daemon.log_text()


def send(daemon: Daemon, sender: str, subject: str, body: str, message_id: str,
         **headers: str) -> None:  # fmt: skip
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = "support@example.nl"
    mail["Subject"] = subject
    mail["Message-ID"] = message_id
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.send_message(mail)


def to(mta: FakeMta, address: str) -> list[EmailMessage]:
    return [m for m in mta.messages() if address in m["To"]]


def test_a_complete_report_gets_an_acknowledgement_and_the_engineers_a_dispatch(
    daemon: Daemon, mta: FakeMta
) -> None:
    send(daemon, "Jan de Vries <jan@acme.nl>", "Telefoon receptie dood",
         "Het toestel bij de receptie geeft geen kiestoon.\nLocatie: Hoofdstraat 12, Utrecht",
         "<n1@acme.nl>")  # fmt: skip
    wait_for(lambda: to(mta, "jan@acme.nl") and to(mta, "engineers@example.nl"))
    [ack] = to(mta, "jan@acme.nl")
    assert ack["Subject"].startswith("[T-2026-000001] ")
    assert ack["In-Reply-To"] == "<n1@acme.nl>"
    assert ack["Auto-Submitted"] == "auto-replied"
    text = ack.get_body(("plain",)).get_content()
    assert "CAT II" in text and "Reactie uiterlijk" in text
    assert "08:30 tot 17:30" in text
    assert ack.get_body(("html",)) is not None
    [dispatch] = to(mta, "engineers@example.nl")
    assert dispatch["Auto-Submitted"] == "auto-generated"
    assert "T-2026-000001" in dispatch["Subject"]
    outbox = daemon.cli("outbox", "list", "--state", "sent", check=True).stdout.decode()
    assert "acknowledgement" in outbox and "dispatch" in outbox


def test_an_incomplete_report_gets_a_clarification_and_the_answer_an_acknowledgement(
    daemon: Daemon, mta: FakeMta
) -> None:
    body = "Our phone at the front desk has no dial tone since this morning."
    send(daemon, "Pat <pat@globex.com>", "No dial tone", body, "<i1@globex.com>")
    wait_for(lambda: to(mta, "pat@globex.com"))
    [clarification] = to(mta, "pat@globex.com")
    text = clarification.get_body(("plain",)).get_content()
    assert clarification["Subject"].startswith("[T-2026-000001]")
    assert "location" in text.lower()  # English: the customer's language
    send(daemon, "Pat <pat@globex.com>", f"Re: {clarification['Subject']}",
         "Location: 1 Main Street, Amsterdam", "<i2@globex.com>",
         In_Reply_To=clarification["Message-ID"])  # fmt: skip
    wait_for(lambda: len(to(mta, "pat@globex.com")) == 2)
    ack = to(mta, "pat@globex.com")[1]
    assert ack["In-Reply-To"] == "<i2@globex.com>"
    assert "T-2026-000001" in ack["Subject"]
    shown = daemon.cli("tickets", "show", "T-2026-000001", "--json", check=True).stdout.decode()
    assert '"incomplete": false' in shown and '"clarified"' in shown


def test_no_acknowledgement_to_an_auto_reply_and_at_most_n_per_sender_per_hour(
    daemon: Daemon, mta: FakeMta
) -> None:
    send(daemon, "jan@acme.nl", "Automatisch antwoord: afwezig", "Ik ben afwezig.",
         "<oof@acme.nl>", Auto_Submitted="auto-replied")  # fmt: skip
    for n in range(4):
        send(daemon, "piet@acme.nl", f"Storing {n}",
             f"Toestel {200 + n} geeft geen kiestoon.\nLocatie: Hoofdstraat 12, Utrecht",
             f"<rate-{n}@acme.nl>")  # fmt: skip
    wait_for(lambda: len(to(mta, "engineers@example.nl")) == 4)
    wait_for(lambda: len(to(mta, "piet@acme.nl")) == 2)
    assert to(mta, "jan@acme.nl") == []
    listing = daemon.cli("tickets", "list", "--json", check=True).stdout.decode()
    assert listing.count('"ref"') == 5
