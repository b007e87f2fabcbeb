"""A fake MTA for tests: a real aiosmtpd server on 127.0.0.1 that records what it accepts and
can be told what to answer next (a 451 or 550 to DATA, a refusal of one recipient, a hang-up).
Delivery talks to it with smtplib exactly as it talks to a production relay.
"""

from __future__ import annotations

import email
import email.policy
from collections import deque
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

ACCEPTED = "250 2.0.0 Message accepted for delivery"


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


class FakeMta:
    """Accepts and records mail, unless told to answer otherwise next."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.data_replies: deque[str] = deque()
        self.rcpt_replies: dict[str, deque[str]] = {}
        self.sessions = 0
        # Hang up on the MAIL command after this many transactions in one session, as relays
        # with a per-connection message limit or an idle timeout do.
        self.hang_up_after: int | None = None

    def answer_data(self, *replies: str) -> None:
        """Answer the next DATA commands with these replies, in order, then accept again."""
        self.data_replies.extend(replies)

    def refuse(self, address: str, *replies: str) -> None:
        """Answer the next RCPT TO this address with these replies, in order."""
        self.rcpt_replies.setdefault(address, deque()).extend(replies)

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        done = getattr(session, "transactions", 0)
        if self.hang_up_after is not None and done >= self.hang_up_after:
            assert server.transport is not None
            server.transport.close()
            return "421 4.4.2 Closing connection"
        session.transactions = done + 1  # type: ignore[attr-defined]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        replies = self.rcpt_replies.get(address)
        if replies:
            return replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.popleft()
        data = envelope.original_content or b""
        self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), data))
        return ACCEPTED

    def messages(self) -> list[EmailMessage]:
        return [item.message() for item in self.received]


def start_mta(handler: FakeMta, port: int, **smtp: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp)
    controller.start()
    return controller
