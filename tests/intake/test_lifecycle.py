"""What the desk does with a report: classify it, start the SLA clock, wait for what is missing.

Times are parameters: each mail is spooled with the moment it arrived, so deadlines can be
checked against the seed's example (8 h response, Monday 16:00 → Tuesday 15:00).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import parse_config
from mailintake.intake.desk import build_desk
from mailintake.intake.lifecycle import (
    change_category,
    record_response,
    resolve,
    start_resolution,
    wait_for_customer,
)
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.spool import Arrival
from mailintake.storage.tickets import list_tickets, ticket_view

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY_16 = datetime(2026, 11, 23, 16, 0, tzinfo=AMS)

CUSTOMERS = """
[[customer]]
name = "Acme BV"
plan = "premium"
domains = ["acme.nl"]
services = ["voip"]

[[customer]]
name = "Kleine Klant"
plan = "standard"
addresses = ["piet@gmail.com"]
"""


def mail(body: str, *, subject: str, sender: str = "jan@acme.nl", mid: str,
         extra: str = "") -> bytes:  # fmt: skip
    return (
        f"From: {sender}\r\nTo: support@example.nl\r\nSubject: {subject}\r\n"
        f"Message-ID: <{mid}>\r\n{extra}\r\n{body}\r\n"
    ).encode()


COMPLETE = (
    "Het toestel bij de receptie geeft geen kiestoon meer.\r\nLocatie: Hoofdstraat 12, Utrecht"
)
NO_LOCATION = "Het toestel van collega Karin geeft geen kiestoon meer sinds vanochtend."


@pytest.fixture
def worker(sessions: sessionmaker[Session], tmp_path: Path) -> Worker:
    (tmp_path / "customers.toml").write_text(CUSTOMERS)
    config = parse_config({"customers": {"path": "customers.toml"}}, tmp_path / "config.toml")
    return Worker(sessions, build_desk(config))


def arrive(worker: Worker, raw: bytes, at: datetime) -> None:
    worker.spool.store(Arrival(raw, "test", received_at=at))
    assert worker.drain().failures == []


def tickets(worker: Worker) -> list[dict]:
    with transaction(worker.sessions) as session:
        return [ticket_view(t, AMS) for t in list_tickets(session)]


def test_a_complete_report_from_a_premium_customer_gets_the_seed_deadline(worker: Worker) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing receptie", mid="a1@acme.nl"), MONDAY_16)
    [ticket] = tickets(worker)
    assert (ticket["customer"], ticket["plan"]) == ("Acme BV", "premium")
    assert (ticket["kind"], ticket["category"]) == ("incident", "CAT II")
    assert ticket["incomplete"] is False and ticket["missing"] == []
    # CAT II premium: 4 h in service hours: Monday 16:00-17:30 and Tuesday 08:30-11:00.
    assert ticket["response_due"] == "2026-11-24T11:00:00+01:00"
    assert ticket["resolution_due"] is None  # starts when the resolution plan is carried out
    types = [e["type"] for e in ticket["events"]]
    assert types == ["received", "classified", "clock", "acknowledged", "dispatched"]
    classified = ticket["events"][1]
    assert classified["rules_hash"] and "cat2-crucial-place" in classified["hits"]


def test_the_seed_example_eight_hours_from_monday_16_is_tuesday_15(worker: Worker) -> None:
    body = "Het toestel van Karin geeft geen kiestoon meer.\r\nLocatie: Hoofdstraat 12, Utrecht"
    arrive(worker, mail(body, subject="Storing toestel", mid="a2@acme.nl"), MONDAY_16)
    [ticket] = tickets(worker)
    assert (ticket["category"], ticket["plan"]) == ("CAT I", "premium")
    assert ticket["response_due"] == "2026-11-24T15:00:00+01:00"


def test_an_incomplete_report_waits_and_the_reply_starts_the_clock(worker: Worker) -> None:
    arrive(worker, mail(NO_LOCATION, subject="Geen kiestoon", mid="b1@acme.nl"), MONDAY_16)
    [ticket] = tickets(worker)
    assert ticket["incomplete"] is True and ticket["missing"] == ["location"]
    assert ticket["response_due"] is None
    types = [e["type"] for e in ticket["events"]]
    assert types[-3:] == ["incomplete", "clarification_requested", "dispatched"]

    tuesday_9 = datetime(2026, 11, 24, 9, 0, tzinfo=AMS)
    reply = mail(
        "Locatie: Stationsplein 3, Amersfoort",
        subject=f"Re: [{ticket['ref']}] Geen kiestoon",
        mid="b2@acme.nl",
        extra="In-Reply-To: <b1@acme.nl>\r\n",
    )
    arrive(worker, reply, tuesday_9)
    [ticket] = tickets(worker)
    assert ticket["incomplete"] is False and ticket["missing"] == []
    assert "clarified" in [e["type"] for e in ticket["events"]]
    # CAT I premium: 8 h counted from the clarification on Tuesday 09:00.
    assert ticket["response_due"] == "2026-11-24T17:00:00+01:00"


def test_a_reply_that_still_lacks_the_location_keeps_waiting(worker: Worker) -> None:
    arrive(worker, mail(NO_LOCATION, subject="Geen kiestoon", mid="c1@acme.nl"), MONDAY_16)
    arrive(worker, mail("Nog steeds stuk hoor.", subject="Re: Geen kiestoon", mid="c2@acme.nl",
                        extra="In-Reply-To: <c1@acme.nl>\r\n"), MONDAY_16)  # fmt: skip
    [ticket] = tickets(worker)
    assert ticket["incomplete"] is True and ticket["response_due"] is None


def test_an_unknown_sender_is_level_0_without_deadlines(worker: Worker) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing", sender="x@elders.nl", mid="d1@elders.nl"),
           MONDAY_16)  # fmt: skip
    [ticket] = tickets(worker)
    assert (ticket["customer"], ticket["plan"]) == (None, "none")
    assert ticket["response_due"] is None
    assert "clock" in [e["type"] for e in ticket["events"]]


def test_a_user_add_request_is_answered_and_closed_not_worked(worker: Worker) -> None:
    body = "Graag een nieuwe gebruiker aanmaken voor onze nieuwe collega Sanne, toestel 214."
    arrive(worker, mail(body, subject="Nieuwe medewerker", mid="e1@acme.nl"), MONDAY_16)
    [ticket] = tickets(worker)
    assert ticket["kind"] == "user_admin"
    assert ticket["status"] == "closed"
    assert ticket["response_due"] is None
    [closed] = [e for e in ticket["events"] if e["type"] == "closed"]
    assert "answered with" in closed["reason"]
    assert ticket["events"][-1]["type"] == "answered"  # the web-form links, no dispatch


def test_an_out_of_office_reply_is_closed_quietly(worker: Worker) -> None:
    raw = mail("Ik ben afwezig tot maandag.", subject="Automatisch antwoord: Storing",
               mid="f1@acme.nl", extra="Auto-Submitted: auto-replied\r\n")  # fmt: skip
    arrive(worker, raw, MONDAY_16)
    [ticket] = tickets(worker)
    assert ticket["status"] == "closed"
    assert ticket["events"][-1]["reason"] == "auto-reply or bounce"


def with_ticket(worker: Worker, change) -> dict:  # type: ignore[no-untyped-def]
    """Apply `change(session, ticket, desk)` to the only ticket, then return its view."""
    with transaction(worker.sessions) as session:
        [ticket] = list_tickets(session)
        change(session, ticket, worker.desk)
    return tickets(worker)[0]


def test_a_category_change_recomputes_from_the_original_start(worker: Worker) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing receptie", mid="g1@acme.nl"), MONDAY_16)
    assert tickets(worker)[0]["response_due"] == "2026-11-24T11:00:00+01:00"  # CAT II, 4 h
    later = datetime(2026, 11, 24, 9, 0, tzinfo=AMS)
    view = with_ticket(
        worker,
        lambda s, t, d: change_category(s, t, "CAT III", later, d, actor="eng@example.nl"),
    )
    # CAT III premium: 2 h from Monday 16:00, calamity hours too: Monday 16:00-17:30, Tuesday
    # 07:30-08:00.
    assert view["response_due"] == "2026-11-24T08:00:00+01:00"
    assert view["events"][-1]["type"] == "category_changed"
    assert view["events"][-1]["previous"] == "CAT II"


def test_first_response_stops_the_response_clock(worker: Worker) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing receptie", mid="h1@acme.nl"), MONDAY_16)
    tuesday_10 = datetime(2026, 11, 24, 10, 0, tzinfo=AMS)
    view = with_ticket(
        worker, lambda s, t, d: record_response(s, t, tuesday_10, d, actor="eng@example.nl")
    )
    assert view["first_response_at"] == "2026-11-24T10:00:00+01:00"
    assert view["status"] == "open"
    # A stopped clock keeps its deadline, so a report can tell met from breached.
    assert view["response_due"] == "2026-11-24T11:00:00+01:00"
    assert [e["action"] for e in view["events"] if e["type"] == "clock"] == ["start", "stop"]


def test_waiting_for_the_customer_pauses_only_the_resolution_clock(worker: Worker) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing receptie", mid="i1@acme.nl"), MONDAY_16)
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=AMS)
    view = with_ticket(
        worker, lambda s, t, d: start_resolution(s, t, tuesday, d, actor="eng@example.nl")
    )
    assert view["resolution_due"] == "2026-11-24T13:00:00+01:00"  # CAT II: 4 h
    pause = datetime(2026, 11, 24, 10, 0, tzinfo=AMS)
    view = with_ticket(
        worker, lambda s, t, d: wait_for_customer(s, t, pause, d, actor="eng@example.nl")
    )
    assert view["status"] == "pending" and view["resolution_due"] is None
    assert view["response_due"] == "2026-11-24T11:00:00+01:00"  # untouched
    # The customer answers on Wednesday 09:00: three open hours remain, due at 12:00.
    wednesday = datetime(2026, 11, 25, 9, 0, tzinfo=AMS)
    reply = mail("Het werkt weer niet na de herstart.", subject="Re: Storing receptie",
                 mid="i2@acme.nl", extra="In-Reply-To: <i1@acme.nl>\r\n")  # fmt: skip
    arrive(worker, reply, wednesday)
    view = tickets(worker)[0]
    assert view["status"] == "open"
    assert view["resolution_due"] == "2026-11-25T12:00:00+01:00"
    later = datetime(2026, 11, 25, 11, 0, tzinfo=AMS)
    view = with_ticket(worker, lambda s, t, d: resolve(s, t, later, d, actor="eng@example.nl"))
    assert view["status"] == "resolved"
    assert view["resolution_due"] == "2026-11-25T12:00:00+01:00"
    actions = [e["action"] for e in view["events"] if e.get("metric") == "resolution"]
    assert actions == ["start", "pause", "resume", "stop"]


def test_an_out_of_office_answering_our_mail_is_kept_quietly_and_moves_no_clock(
    worker: Worker,
) -> None:
    arrive(worker, mail(COMPLETE, subject="Storing receptie", mid="j1@acme.nl"), MONDAY_16)
    tuesday = datetime(2026, 11, 24, 9, 0, tzinfo=AMS)
    with_ticket(worker, lambda s, t, d: start_resolution(s, t, tuesday, d, actor="eng@x.nl"))
    with_ticket(worker, lambda s, t, d: wait_for_customer(s, t, tuesday, d, actor="eng@x.nl"))
    events = tickets(worker)[0]["events"]
    ack_id = next(e["message_id"] for e in events if e["type"] == "acknowledged")
    oof = mail(
        "Ik ben afwezig tot maandag.",
        subject="Automatisch antwoord: Storing receptie",
        mid="j2@acme.nl",
        extra=f"In-Reply-To: {ack_id}\r\nAuto-Submitted: auto-replied\r\n",
    )
    arrive(worker, oof, datetime(2026, 11, 24, 10, 0, tzinfo=AMS))
    [ticket] = tickets(worker)
    assert ticket["status"] == "pending"  # still waiting for the customer
    assert ticket["events"][-1]["type"] == "automatic_reply"
    assert "Auto-Submitted" in ticket["events"][-1]["reason"]
    assert len(tickets(worker)) == 1
