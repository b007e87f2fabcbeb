"""Planned maintenance: who is told, when, once; cancelling; reports while it is under way.

Times are parameters: `now` is passed to every step as the scheduler passes it.
"""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import parse_config
from mailintake.intake.desk import Desk, build_desk
from mailintake.intake.maintenance import (
    Announcement,
    AnnouncementError,
    announce,
    cancel,
    check,
    read_announcement,
    send_due,
)
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage
from mailintake.storage.spool import Arrival
from mailintake.storage.tickets import list_tickets, ticket_view

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 26, 10, 0, tzinfo=AMS)
START = datetime(2026, 12, 10, 1, 0, tzinfo=AMS)

CUSTOMERS = """
[[customer]]
name = "Acme BV"
plan = "premium"
domains = ["acme.nl"]
services = ["voip", "internet"]
[[customer.contacts]]
name = "Anna"
email = "anna@acme.nl"
[[customer.contacts]]
name = "Bert"
email = "bert@acme.nl"

[[customer]]
name = "Globex"
domains = ["globex.com"]
services = ["voip"]
language = "en"
addresses = ["it@globex.com"]

[[customer]]
name = "Net Only"
domains = ["net.nl"]
services = ["internet"]
addresses = ["boss@net.nl"]
"""


def desk(folder: Path, customers: str = CUSTOMERS) -> Desk:
    folder.mkdir(exist_ok=True)
    (folder / "customers.toml").write_text(customers)
    return build_desk(parse_config({"customers": {"path": "customers.toml"}},
                                   folder / "config.toml"))  # fmt: skip


def announcement(**changes: object) -> Announcement:
    data = {
        "contact": {"name": "Petra Jansen", "phone": "+31 20 123 4500"},
        "start": START,
        "end": START + timedelta(hours=4),
        "expected_duration": "1h30m",
        "services": ["voip"],
        "reason": "Software-update van de centrale",
        **changes,
    }
    return Announcement.model_validate(data)


def outbox(sessions: sessionmaker[Session]) -> list[tuple[str, list[str], str]]:
    with transaction(sessions, write=False) as session:
        rows = session.execute(select(OutboxMessage.purpose, OutboxMessage.recipients,
                                      OutboxMessage.raw).order_by(OutboxMessage.id))  # fmt: skip
        return [
            (purpose, sorted(recipients),
             str(email.message_from_bytes(raw, policy=email.policy.default)["Subject"]))
            for purpose, recipients, raw in rows
        ]  # fmt: skip


def test_an_announcement_must_be_complete_in_the_future_and_fit(tmp_path: Path) -> None:
    settings = parse_config({}).maintenance
    with pytest.raises(AnnouncementError, match="not in the future"):
        check(announcement(start=NOW - timedelta(hours=1)), settings, AMS, NOW)
    with pytest.raises(AnnouncementError, match="not after start"):
        check(announcement(end=START), settings, AMS, NOW)
    with pytest.raises(AnnouncementError, match="does not fit"):
        check(announcement(expected_duration="5h"), settings, AMS, NOW)
    path = tmp_path / "bad.toml"
    path.write_text(
        'start = 2026-12-10T01:00:00\nservices = ["voip"]\nexpected_duration = "soon"\n'
    )
    with pytest.raises(AnnouncementError) as raised:
        read_announcement(path, AMS)
    message = str(raised.value)
    assert "`contact` is required" in message and "`reason` is required" in message
    assert "`expected_duration`" in message and '"1h30m"' in message
    assert str(path) in message


def test_outside_the_maintenance_window_is_allowed_with_a_warning() -> None:
    settings = parse_config({}).maintenance
    assert check(announcement(), settings, AMS, NOW).warnings == ()
    evening = START.replace(hour=18)
    plan = check(announcement(start=evening, end=evening + timedelta(hours=4)), settings, AMS, NOW)
    assert "outside the maintenance window 00:00-07:00" in plan.warnings[0]


def test_the_notice_goes_to_subscribed_customers_once_at_the_set_time(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    the_desk = desk(tmp_path)
    settings = the_desk.maintenance
    row = announce(sessions, check(announcement(), settings, AMS, NOW), settings, NOW)
    assert row.notice_at == START - timedelta(days=5)
    assert send_due(sessions, the_desk, row.notice_at - timedelta(minutes=1)) == []
    assert send_due(sessions, the_desk, row.notice_at) == [f"{row.reference} notice to 2"]
    assert send_due(sessions, desk(tmp_path), row.notice_at + timedelta(minutes=1)) == []
    mails = outbox(sessions)
    assert [(purpose, to) for purpose, to, _ in mails] == [
        ("maintenance_notice", ["anna@acme.nl", "bert@acme.nl"]),
        ("maintenance_notice", ["it@globex.com"]),
    ]
    assert mails[0][2].startswith("Gepland onderhoud op")  # Dutch for Acme
    assert mails[1][2].startswith("Planned maintenance")  # English for Globex
    reminder = START - timedelta(hours=24)
    assert send_due(sessions, the_desk, reminder) == [f"{row.reference} reminder to 2"]
    assert [purpose for purpose, _, _ in outbox(sessions)][2:] == ["maintenance_notice"] * 2
    assert "Herinnering" in outbox(sessions)[2][2]
    assert send_due(sessions, the_desk, START + timedelta(hours=1)) == []


def test_a_cancellation_goes_to_the_same_people_or_to_nobody(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    the_desk = desk(tmp_path)
    settings = the_desk.maintenance
    told = announce(sessions, check(announcement(), settings, AMS, NOW), settings, NOW)
    later = START + timedelta(days=3)
    quiet = announce(
        sessions,
        check(announcement(start=later, end=later + timedelta(hours=4)), settings, AMS, NOW),
        settings,
        NOW,
    )
    send_due(sessions, the_desk, told.notice_at)
    before = len(outbox(sessions))
    # Globex leaves the customers file afterwards; the cancellation still goes to who was told.
    changed = desk(tmp_path / "changed", CUSTOMERS.split('[[customer]]\nname = "Globex"')[0])
    _, count = cancel(sessions, changed, told.reference, "leverancier stelt uit", NOW)
    assert count == 2
    cancellations = outbox(sessions)[before:]
    assert [(p, to) for p, to, _ in cancellations] == [
        ("maintenance_cancelled", ["anna@acme.nl", "bert@acme.nl"]),
        ("maintenance_cancelled", ["it@globex.com"]),
    ]
    _, count = cancel(sessions, the_desk, str(quiet.id), None, NOW)
    assert count == 0
    assert send_due(sessions, the_desk, quiet.notice_at + timedelta(days=1)) == []
    with pytest.raises(AnnouncementError, match="already cancelled"):
        cancel(sessions, the_desk, told.reference, None, NOW)


def test_a_report_during_the_work_is_answered_with_it_and_still_a_ticket(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    the_desk = desk(tmp_path)
    settings = the_desk.maintenance
    announce(sessions, check(announcement(), settings, AMS, NOW), settings, NOW)
    worker = Worker(sessions, the_desk)
    during = START + timedelta(hours=1)

    def report(sender: str, subject: str, body: str, mid: str) -> None:
        raw = (f"From: {sender}\r\nTo: support@example.nl\r\nSubject: {subject}\r\n"
               f"Message-ID: <{mid}>\r\n\r\n{body}\r\n").encode()  # fmt: skip
        worker.spool.store(Arrival(raw, "test", received_at=during))

    report("anna@acme.nl", "Telefoon doet niets", "Geen kiestoon op alle toestellen.", "a@acme.nl")
    report("anna@acme.nl", "Internet traag", "Het internet is erg traag.", "b@acme.nl")
    report("boss@net.nl", "Telefoon kapot", "De telefoon doet het niet.", "c@net.nl")
    assert worker.drain().created == 3
    with transaction(sessions, write=False) as session:
        views = [ticket_view(t, AMS) for t in list_tickets(session)]
    answers = [
        next(e for e in v["events"] if e["type"] in ("acknowledged", "clarification_requested"))
        for v in views
    ]
    # The first lacks a location, yet the maintenance explains it: no clarification request.
    assert [(a["type"], a.get("maintenance")) for a in answers] == [
        ("acknowledged", "M-2026-0001"),
        ("clarification_requested", None),
        ("clarification_requested", None),
    ]
    acks = answers[:1]
    with transaction(sessions, write=False) as session:
        raw = session.scalar(select(OutboxMessage.raw).where(
            OutboxMessage.message_id == acks[0]["message_id"]))  # fmt: skip
    text = email.message_from_bytes(raw, policy=email.policy.default).get_body(("plain",))
    assert "gepland onderhoud" in text.get_content() and "M-2026-0001" in text.get_content()
