"""Replies land on the right ticket, and nobody writes into someone else's ticket."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.intake.conversation import Conversation, make_desk

REPORT = "Het toestel bij de receptie geeft geen kiestoon.\nLocatie: Hoofdstraat 12, Utrecht"


@pytest.fixture
def talk(sessions: sessionmaker[Session], tmp_path: Path) -> Conversation:
    return Conversation(sessions, make_desk(tmp_path))


def first_ack(talk: Conversation):  # type: ignore[no-untyped-def]
    return talk.sent("acknowledgement")[0]


def test_a_reply_to_our_signed_message_id_lands_on_its_ticket(talk: Conversation) -> None:
    talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    ack = first_ack(talk)
    assert ack["Message-ID"].startswith("<T-2026-000001.ack.")
    talk.mail("jan@acme.nl", f"Re: {ack['Subject']}", "Dank, het werkt weer.",
              In_Reply_To=ack["Message-ID"])  # fmt: skip
    [ticket] = talk.tickets()
    assert [e["threaded_by"] for e in ticket["events"] if e["type"] == "reply_received"] == [
        "signed-reference"
    ]


def test_a_forged_message_id_attaches_nothing_and_is_flagged(talk: Conversation) -> None:
    talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    forged = "<T-2026-000001.ack.aaaaaaaaaaaaa.bbbbbbbbbbbbb@example.nl>"
    talk.mail("eve@evil.example", "Re: storing", "Ik hoor erbij.", In_Reply_To=forged)
    first, second = talk.tickets()
    assert second["requester"] == "eve@evil.example"
    assert "forged-reference" in second["flags"]
    assert sum(m["direction"] == "in" for m in first["thread"]) == 1


@pytest.mark.parametrize("prefix", ["RE: ", "AW: Antw: ", "Fwd: RE: re: ", "Re:Re: "])
def test_the_ref_in_the_subject_with_any_prefixes_from_the_requester(
    talk: Conversation, prefix: str
) -> None:
    talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    talk.mail("jan@acme.nl", f"{prefix}[T-2026-000001] Storing receptie", "Nog een vraag.")
    [ticket] = talk.tickets()
    assert sum(m["direction"] == "in" for m in ticket["thread"]) == 2


def test_the_ref_in_the_subject_from_a_stranger_makes_a_new_flagged_ticket(
    talk: Conversation,
) -> None:
    talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    talk.mail("eve@evil.example", "RE: [T-2026-000001] Storing receptie", "Ik ook.")
    _first, second = talk.tickets()
    assert second["ref"] == "T-2026-000002"
    assert "ref-from-stranger" in second["flags"]


def test_the_signed_reply_address_threads_and_admits_a_colleague(talk: Conversation) -> None:
    talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    reply_to = first_ack(talk)["Reply-To"].addresses[0].addr_spec
    assert reply_to.startswith("support+T-2026-000001.")
    talk.mail("piet@acme.nl", "Doorgestuurd", "Ik neem het over van Jan.", to=reply_to)
    [ticket] = talk.tickets()
    assert ticket["requester"] == "jan@acme.nl"
    assert "participant_added" in [e["type"] for e in ticket["events"]]


def test_a_reply_all_from_someone_in_cc_joins_the_ticket(talk: Conversation) -> None:
    original = talk.mail("jan@acme.nl", "Storing receptie", REPORT, Cc="Karin <karin@acme.nl>")
    talk.mail("karin@acme.nl", "RE: Storing receptie", "Bij mij ook.", In_Reply_To=original)
    [ticket] = talk.tickets()
    senders = [m["author"] for m in ticket["thread"] if m["direction"] == "in"]
    assert senders == ["jan@acme.nl", "karin@acme.nl"]
    assert ticket["requester"] == "jan@acme.nl"


def test_quoting_a_customers_message_id_is_not_enough_for_a_stranger(talk: Conversation) -> None:
    original = talk.mail("jan@acme.nl", "Storing receptie", REPORT)
    talk.mail("eve@evil.example", "RE: Storing receptie", "Hallo", In_Reply_To=original)
    assert "reference-from-stranger" in talk.tickets()[1]["flags"]


def test_outlooks_thread_index_threads_when_references_are_lost(talk: Conversation) -> None:
    conversation = base64.b64encode(bytes(range(22))).decode()
    reply = base64.b64encode(bytes(range(22)) + b"\x01\x02\x03\x04\x05").decode()
    talk.mail("jan@acme.nl", "Storing receptie", REPORT, Thread_Index=conversation)
    talk.mail("jan@acme.nl", "Storing receptie", "Nog steeds stuk.", Thread_Index=reply)
    [ticket] = talk.tickets()
    assert [e.get("threaded_by") for e in ticket["events"] if e["type"] == "reply_received"] == [
        "thread-index"
    ]


def test_a_reply_to_a_closed_ticket_reopens_it(talk: Conversation) -> None:
    talk.mail("jan@acme.nl", "Nieuwe medewerker",
              "Graag een nieuwe gebruiker aanmaken voor collega Sanne.")  # fmt: skip
    assert talk.tickets()[0]["status"] == "closed"
    talk.mail("jan@acme.nl", "RE: [T-2026-000001] Nieuwe medewerker", "Het formulier werkt niet.")
    [ticket] = talk.tickets()
    assert ticket["status"] == "open"
    assert "reopened" in [e["type"] for e in ticket["events"]]


def test_or_starts_a_new_linked_ticket_when_configured(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    talk = Conversation(sessions, make_desk(tmp_path, threads={"closed_reply": "new"}))
    talk.mail("jan@acme.nl", "Nieuwe medewerker",
              "Graag een nieuwe gebruiker aanmaken voor collega Sanne.")  # fmt: skip
    talk.mail("jan@acme.nl", "RE: [T-2026-000001] Nieuwe medewerker", "Het formulier werkt niet.")
    first, second = talk.tickets()
    assert first["status"] == "closed"
    assert second["ref"] == "T-2026-000002"
    assert "continues" in second["flags"]
