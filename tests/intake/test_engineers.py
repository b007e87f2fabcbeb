"""Engineers answer from their mail client: commands applied, answers relayed, clocks moved,
and a spoofed engineer gets nothing done."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.hours import hours_report
from mailintake.storage.database import transaction
from tests.intake.conversation import AMS, MONDAY_10, Conversation, make_desk

REPORT = "Het toestel van Karin geeft geen kiestoon.\nLocatie: Hoofdstraat 12, Utrecht"
LATER = MONDAY_10 + timedelta(hours=1)


@pytest.fixture
def talk(sessions: sessionmaker[Session], tmp_path: Path) -> Conversation:
    talk = Conversation(sessions, make_desk(tmp_path))
    talk.mail("Jan de Vries <jan@acme.nl>", "Geen kiestoon", REPORT)
    return talk


def engineer_reply(talk: Conversation, body: str, **headers: str) -> None:
    """Eva answers the dispatch the way her mail client does: to its Reply-To."""
    dispatch = talk.sent("dispatch")[0]
    token_address = dispatch["Reply-To"].addresses[0].addr_spec
    talk.mail(
        "Eva de Boer <eva@example.nl>",
        f"RE: {dispatch['Subject']}",
        body,
        at=LATER,
        to=token_address,
        In_Reply_To=dispatch["Message-ID"],
        **headers,
    )


def test_commands_apply_and_the_answer_is_relayed_from_the_desk(talk: Conversation) -> None:
    engineer_reply(talk, "#category CAT II\n#time 20m\n#plan\nBeste Jan,\n\nWe kijken ernaar.")
    [ticket] = talk.tickets()
    assert ticket["category"] == "CAT II"
    assert ticket["first_response_at"] == LATER.isoformat()
    types = [e["type"] for e in ticket["events"]]
    for expected in ("engineer_mail", "category_changed", "time_logged", "relayed", "responded"):
        assert expected in types
    actors = {e["actor"] for e in ticket["events"] if e["type"] in ("category_changed", "relayed")}
    assert actors <= {"eva@example.nl", "system"}
    clock = [(e["metric"], e["action"]) for e in ticket["events"] if e["type"] == "clock"]
    assert ("response", "stop") in clock and ("resolution", "start") in clock
    [relay] = talk.sent("relay")
    assert relay["From"].addresses[0].addr_spec == "support@example.nl"
    assert "Eva de Boer" in relay["From"].addresses[0].display_name
    assert relay["To"].addresses[0].addr_spec == "jan@acme.nl"
    assert relay["Subject"].startswith("[T-2026-000001]")
    assert relay["Auto-Submitted"] is None
    body = relay.get_body(("plain",)).get_content()
    assert "We kijken ernaar." in body and "#category" not in body and "#time" not in body
    assert "eva@example.nl" not in relay.as_string()  # the engineer's address stays inside
    # The category change goes to the engineers too.
    assert len(talk.sent("dispatch")) == 2


def test_an_internal_note_is_kept_and_not_relayed(talk: Conversation) -> None:
    engineer_reply(talk, "#internal\n#time 10m\nKlant belt terug na de lunch.")
    [ticket] = talk.tickets()
    assert talk.sent("relay") == []
    assert ticket["first_response_at"] is None
    note = next(m for m in ticket["thread"] if m["author"] == "eva@example.nl")
    assert "Klant belt terug" in note["body"]


def test_a_bad_command_gets_an_error_answer_and_nothing_is_done(talk: Conversation) -> None:
    engineer_reply(talk, "#categorie CAT III\n#time 20m\nBeste Jan, opgelost.")
    [ticket] = talk.tickets()
    assert ticket["category"] == "CAT I"
    assert ticket["first_response_at"] is None
    assert "time_logged" not in [e["type"] for e in ticket["events"]]
    assert talk.sent("relay") == []
    [error] = talk.sent("command_error")
    assert error["To"].addresses[0].addr_spec == "eva@example.nl"
    text = error.get_body(("plain",)).get_content()
    assert "#categorie: unknown command" in text and "#category CAT I|CAT II|CAT III" in text


def test_status_pending_waits_and_the_customers_answer_resumes(talk: Conversation) -> None:
    engineer_reply(talk, "#plan\n#status pending\nKunt u het toestel herstarten?")
    assert talk.tickets()[0]["status"] == "pending"
    relay = talk.sent("relay")[0]
    talk.mail("jan@acme.nl", f"RE: {relay['Subject']}", "Gedaan, nog steeds stuk.",
              at=LATER + timedelta(hours=2), In_Reply_To=relay["Message-ID"])  # fmt: skip
    [ticket] = talk.tickets()
    assert ticket["status"] == "open"
    actions = [e["action"] for e in ticket["events"] if e.get("metric") == "resolution"]
    assert actions == ["start", "pause", "resume"]


def test_a_spoofed_engineer_is_a_customer_mail_and_is_flagged(talk: Conversation) -> None:
    ack = talk.sent("acknowledgement")[0]
    # Not sent to the engineers' token address: in token mode that cannot be Eva.
    talk.mail("Eva de Boer <eva@example.nl>", f"RE: {ack['Subject']}",
              "#status closed\nAfgehandeld.", at=LATER, In_Reply_To=ack["Message-ID"])  # fmt: skip
    [ticket] = talk.tickets()
    assert ticket["status"] != "closed"
    assert "spoofed-engineer" in ticket["flags"]
    flagged = next(e for e in ticket["events"] if e["type"] == "flagged")
    assert "spoofed?" in flagged["detail"]
    assert talk.sent("relay") == []


def test_time_is_reported_in_rounded_units(talk: Conversation) -> None:
    engineer_reply(talk, "#time 20m\n#internal\nEerste analyse.")
    engineer_reply(talk, "#time 7m\n#internal\nNabellen.")
    with transaction(talk.sessions, write=False) as session:
        [line] = hours_report(session, "2026-11", AMS)
    assert (line.minutes, line.units, line.billable_units) == (27, 2, 2)
