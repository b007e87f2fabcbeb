"""Spooled mail becomes tickets: one per new report, none for a repeat, replies on their ticket."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake import worker as worker_module
from mailintake.intake.desk import Desk
from mailintake.intake.worker import Failure, Worker
from mailintake.storage.database import transaction
from mailintake.storage.models import StoredAttachment
from mailintake.storage.spool import Arrival
from mailintake.storage.tickets import list_tickets, load_ticket, ticket_view

ZONE = ZoneInfo("Europe/Amsterdam")


def mail(message_id: str | None, subject: str = "Geen kiestoon", sender: str = "jan@klant.nl",
         extra: str = "", body: str = "Toestel 201 doet niets.") -> bytes:  # fmt: skip
    headers = f"From: Jan <{sender}>\r\nTo: support@example.nl\r\nSubject: {subject}\r\n"
    if message_id:
        headers += f"Message-ID: {message_id}\r\n"
    return (headers + extra + "\r\n" + body + "\r\n").encode()


@pytest.fixture
def worker(sessions: sessionmaker[Session], desk: Desk) -> Worker:
    return Worker(sessions, desk)


def spool(worker: Worker, *raws: bytes) -> list[int]:
    return worker.spool.store_many([Arrival(raw, "test") for raw in raws])


def views(worker: Worker) -> list[dict]:
    with transaction(worker.sessions) as session:
        return [ticket_view(t, ZONE, with_timeline=True) for t in list_tickets(session)]


def inbound(view: dict) -> int:
    return sum(message["direction"] == "in" for message in view["thread"])


def test_a_new_report_becomes_a_ticket_with_the_design_fields(worker: Worker) -> None:
    spool(worker, mail("<m1@klant.nl>"))
    report = worker.drain()
    assert (report.created, report.failures) == (1, [])
    [view] = views(worker)
    assert view["ref"].startswith("T-") and len(view["ref"]) == len("T-2026-000001")
    assert view["subject"] == "Geen kiestoon"
    assert view["requester"] == "jan@klant.nl"
    assert view["status"] == "new"
    assert inbound(view) == 1
    # The acknowledgement (or clarification request) and the dispatch are on the ticket too.
    assert view["messages"] == 3
    assert [e["type"] for e in view["events"]][:2] == ["received", "classified"]
    assert view["first_response_at"] is None
    assert view["events"][0]["at"].endswith(("+01:00", "+02:00"))


def test_the_same_message_id_twice_makes_one_ticket(worker: Worker) -> None:
    spool(worker, mail("<same@klant.nl>"), mail("<same@klant.nl>", extra="Received: x\r\n"))
    report = worker.drain()
    assert (report.created, report.duplicates) == (1, 1)
    assert len(views(worker)) == 1
    duplicate = worker.spool.entries()[1]
    assert duplicate.state == "processed" and duplicate.duplicate_of == worker.spool.entries()[0].id


def test_without_message_id_the_raw_hash_dedupes(worker: Worker) -> None:
    spool(worker, mail(None), mail(None), mail(None, body="Ander probleem."))
    report = worker.drain()
    assert (report.created, report.duplicates) == (2, 1)


def test_a_reply_by_references_lands_on_its_ticket(worker: Worker) -> None:
    spool(worker, mail("<first@klant.nl>"))
    spool(worker, mail("<second@klant.nl>", subject="Re: Geen kiestoon",
                       extra="In-Reply-To: <first@klant.nl>\r\n"))  # fmt: skip
    report = worker.drain()
    assert (report.created, report.replies) == (1, 1)
    [view] = views(worker)
    assert inbound(view) == 2
    replies = [e for e in view["events"] if e["type"] == "reply_received"]
    assert [e["threaded_by"] for e in replies] == ["reference"]


def test_a_ref_in_the_subject_attaches_only_the_requesters_mail(worker: Worker) -> None:
    spool(worker, mail("<first@klant.nl>"))
    worker.drain()
    ref = views(worker)[0]["ref"]
    spool(
        worker,
        mail("<r1@klant.nl>", subject=f"RE: [{ref}] Geen kiestoon"),
        mail("<r2@other.nl>", subject=f"RE: [{ref}] Geen kiestoon", sender="eve@other.nl"),
    )
    worker.drain()
    tickets = views(worker)
    assert [inbound(t) for t in tickets] == [2, 1]
    assert tickets[1]["requester"] == "eve@other.nl"


def test_attachments_are_listed_and_stored(worker: Worker) -> None:
    raw = (
        b"From: jan@klant.nl\r\nSubject: log\r\nMessage-ID: <att@klant.nl>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"zie bijlage\r\n--b\r\nContent-Type: image/png\r\nContent-Disposition: attachment; "
        b'filename="scherm.png"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        b"iVBORw0KGgo=\r\n--b--\r\n"
    )
    spool(worker, raw)
    worker.drain()
    ref = views(worker)[0]["ref"]
    with transaction(worker.sessions) as session:
        ticket = load_ticket(session, ref)
        assert ticket is not None
        [message] = [m for m in ticket.messages if m.direction == "in"]
        [attachment] = message.attachments
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "scherm.png", "image/png", 8)  # fmt: skip
        assert session.scalar(select(StoredAttachment.data)) == b"\x89PNG\r\n\x1a\n"
        view = ticket_view(ticket, ZONE, with_timeline=True)
    assert view["thread"][0]["attachments"][0]["filename"] == "scherm.png"


def test_a_message_that_raises_is_marked_failed_and_the_worker_goes_on(
    worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_parse = worker_module.parse

    def parse_with_a_bug(raw: bytes):  # type: ignore[no-untyped-def]
        if b"<poison@" in raw:
            raise RuntimeError("bug in a stage")
        return real_parse(raw)

    monkeypatch.setattr(worker_module, "parse", parse_with_a_bug)
    poison, _good = spool(worker, mail("<poison@klant.nl>"), mail("<good@klant.nl>"))
    report = worker.drain()
    assert report.created == 1
    assert report.failures == [Failure(poison, report.failures[0].error)]
    assert report.failures[0].error.startswith("RuntimeError: bug in a stage (at test_pipeline.py")
    [failed] = worker.spool.entries(state="failed")
    assert failed.id == poison and failed.attempts == 1

    monkeypatch.setattr(worker_module, "parse", real_parse)
    assert worker.spool.retry([poison]) == 1
    assert worker.drain().created == 1
    assert worker.spool.counts() == {"processed": 2}


def test_a_second_worker_does_not_process_a_claimed_message(worker: Worker) -> None:
    spool(worker, mail("<once@klant.nl>"))
    waiting = worker.spool.next_received()
    assert waiting is not None
    other = Worker(worker.sessions, worker.desk)
    assert other._process(waiting) is not None
    assert worker._process(waiting) is None
    assert len(views(worker)) == 1
