"""A whole ticket conversation through a running daemon and a real SMTP sink: the customer's
report and acknowledgement, the engineer's answer with commands and its relay, a spoofed
engineer, a reply to a closed ticket, and the hours report."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Iterator
from datetime import datetime
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
        '[[customer]]\nname = "Acme BV"\nplan = "premium"\ndomains = ["acme.nl"]\n',
        extra_toml='[engineers]\npeople = [{ name = "Eva de Boer", address = "eva@example.nl" }]\n',
    )
    yield daemon
    assert daemon.stop() == 0, daemon.log_text()


def send(daemon: Daemon, sender: str, to: str, subject: str, body: str, **headers: str) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.send_message(mail)


def received(mta: FakeMta, address: str) -> list[EmailMessage]:
    return [m for m in mta.messages() if address in m["To"]]


def show(daemon: Daemon, ref: str) -> dict:
    return json.loads(daemon.cli("tickets", "show", ref, "--json", check=True).stdout)


def test_report_answer_spoof_reopen_and_hours(daemon: Daemon, mta: FakeMta) -> None:
    report = "Het toestel van Karin geeft geen kiestoon.\nLocatie: Hoofdstraat 12, Utrecht"
    send(daemon, "Jan de Vries <jan@acme.nl>", "support@example.nl", "Geen kiestoon", report)
    wait_for(lambda: received(mta, "jan@acme.nl") and received(mta, "engineers@example.nl"))
    [ack] = received(mta, "jan@acme.nl")
    [dispatch] = received(mta, "engineers@example.nl")
    assert ack["Subject"].startswith("[T-2026-000001]")

    # Eva answers the dispatch from her mail client: commands on top, then her answer.
    send(daemon, "Eva de Boer <eva@example.nl>", dispatch["Reply-To"], f"RE: {dispatch['Subject']}",
         "#plan\n#time 20m\nBeste Jan,\n\nHet toestel is opnieuw aangemeld.\n\nEva",
         In_Reply_To=dispatch["Message-ID"])  # fmt: skip
    wait_for(lambda: len(received(mta, "jan@acme.nl")) == 2)
    relay = received(mta, "jan@acme.nl")[1]
    assert "Eva de Boer" in str(relay["From"]) and "support@example.nl" in str(relay["From"])
    text = relay.get_body(("plain",)).get_content()
    assert "Het toestel is opnieuw aangemeld." in text and "#plan" not in text
    ticket = show(daemon, "T-2026-000001")
    assert ticket["first_response_at"] is not None
    assert {"time_logged", "relayed", "responded"} <= {e["type"] for e in ticket["events"]}

    # Someone else claims to be Eva, without the token: the mail is a stranger's, on a new
    # ticket flagged for it, and ticket 1 is untouched.
    send(daemon, "Eva de Boer <eva@example.nl>", "support@example.nl",
         "RE: [T-2026-000001] Geen kiestoon", "#status closed\nKlaar.")  # fmt: skip
    wait_for(lambda: daemon.cli("tickets", "show", "T-2026-000002").returncode == 0)
    spoof = show(daemon, "T-2026-000002")
    assert {"spoofed-engineer", "ref-from-stranger"} <= set(spoof["flags"])
    assert show(daemon, "T-2026-000001")["status"] != "closed"

    # The real Eva closes it; Jan answers the closed ticket and it opens again.
    close = "#status closed\n#time 7m\n#internal\nOpgelost."
    send(daemon, "Eva de Boer <eva@example.nl>", dispatch["Reply-To"], f"RE: {dispatch['Subject']}",
         close, In_Reply_To=dispatch["Message-ID"])  # fmt: skip
    wait_for(lambda: show(daemon, "T-2026-000001")["status"] == "closed")
    send(daemon, "jan@acme.nl", relay["Reply-To"], f"RE: {relay['Subject']}",
         "Het werkt toch weer niet.", In_Reply_To=relay["Message-ID"])  # fmt: skip
    wait_for(lambda: show(daemon, "T-2026-000001")["status"] == "open")

    month = datetime.now().strftime("%Y-%m")
    report = daemon.cli("report", "hours", "--month", month, "--csv", check=True).stdout.decode()
    header, line = report.splitlines()
    assert header.startswith("ref,customer,plan,kind")
    # 20 + 7 minutes: two units of 15, rounded up.
    assert line.startswith("T-2026-000001,Acme BV,premium,incident,") and line.endswith(",27,2,0,2")
    timeline = daemon.cli("tickets", "show", "T-2026-000001", check=True).stdout.decode()
    assert "eva@example.nl" in timeline and "relayed" in timeline and "reopened" in timeline
