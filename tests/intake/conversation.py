"""A small kit for tests that play out a conversation with the desk: mails in, the desk's
mail out (read back from the outbox), tickets as `tickets show --json` would show them."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import parse_config
from mailintake.intake.desk import Desk, build_desk
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage
from mailintake.storage.spool import Arrival
from mailintake.storage.tickets import list_tickets, ticket_view

AMS = ZoneInfo("Europe/Amsterdam")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=AMS)

CUSTOMERS = """
[[customer]]
name = "Acme BV"
plan = "premium"
domains = ["acme.nl"]
services = ["voip"]
"""


def make_desk(folder: Path, **sections: dict) -> Desk:
    (folder / "customers.toml").write_text(CUSTOMERS)
    data = {
        "customers": {"path": "customers.toml"},
        "engineers": {"people": [{"name": "Eva de Boer", "address": "eva@example.nl"}]},
        **sections,
    }
    return build_desk(parse_config(data, folder / "config.toml"))


class Conversation:
    def __init__(self, sessions: sessionmaker[Session], desk: Desk) -> None:
        self.worker = Worker(sessions, desk)
        self.sessions = sessions
        self.count = 0

    def mail(
        self,
        sender: str,
        subject: str,
        body: str,
        *,
        at: datetime = MONDAY_10,
        to: str = "support@example.nl",
        envelope_to: tuple[str, ...] = (),
        **headers: str,
    ) -> str:
        """Spool a mail and process it; returns its Message-ID."""
        self.count += 1
        message_id = f"<m{self.count}@test.example>"
        lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}",
                 f"Message-ID: {message_id}"]  # fmt: skip
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        raw = ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n") + "\r\n").encode()
        self.worker.spool.store(
            Arrival(raw, "test", envelope_to=envelope_to or (to,), received_at=at)
        )
        report = self.worker.drain()
        assert report.failures == [], report.failures
        return message_id

    def tickets(self) -> list[dict]:
        with transaction(self.sessions, write=False) as session:
            return [ticket_view(t, AMS, with_timeline=True) for t in list_tickets(session)]

    def sent(self, purpose: str | None = None) -> list[EmailMessage]:
        with transaction(self.sessions, write=False) as session:
            query = select(OutboxMessage.raw).order_by(OutboxMessage.id)
            if purpose:
                query = query.where(OutboxMessage.purpose == purpose)
            raws = list(session.scalars(query))
        return [email.message_from_bytes(raw, policy=email.policy.default) for raw in raws]  # type: ignore[misc]
