"""Which ticket a mail belongs to, and how sure we are.

Evidence, strongest first:
1. a reply address with a signed token (`support+T-2026-000123.<token>@…`);
2. a Message-ID it answers (In-Reply-To, then References, newest first) that is one of ours:
   our Message-IDs carry the ticket ref and a signature, so a forged one is recognised and
   attaches nothing;
3. a Message-ID it answers that a ticket received, when the sender takes part in that ticket;
4. the ticket's ref in the subject (behind any number of Re:/AW:/Antw:/Fwd: prefixes), when
   the sender takes part in that ticket;
5. Outlook's Thread-Index conversation id, when references were lost, from a sender who takes
   part.
Evidence 1 and 2 admit anyone the mail reached: a colleague replying-all becomes a participant.
For 3 to 5 a stranger gets a new ticket, flagged, so nobody can write into someone else's ticket
by quoting its ref.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailintake.mail import ParsedMail
from mailintake.signing import read_message_id, read_reply_address
from mailintake.storage.models import Ticket, TicketMessage
from mailintake.storage.tickets import REF_PATTERN

SUBJECT_REF = re.compile(rf"\[?({REF_PATTERN})\]?", re.IGNORECASE)
OUR_ID = re.compile(rf"^<{REF_PATTERN}\.", re.IGNORECASE)
# Outlook's Thread-Index: 22 bytes name the conversation, each reply appends 5 more.
CONVERSATION_BYTES = 22


@dataclass(frozen=True)
class Match:
    ticket: Ticket | None
    how: str | None = None
    # The sender may join the ticket: the mail proves it reached them through the ticket.
    admits_sender: bool = False
    flags: tuple[str, ...] = ()


def takes_part(ticket: Ticket, address: str) -> bool:
    return address == ticket.requester or address in (ticket.participants or [])


def conversation_id(mail: ParsedMail) -> str | None:
    value = mail.header("Thread-Index")
    if not value:
        return None
    try:
        raw = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw[:CONVERSATION_BYTES].hex() if len(raw) >= CONVERSATION_BYTES else None


def find_ticket(
    session: Session, mail: ParsedMail, *, recipients: Iterable[str], secret: bytes
) -> Match:
    flags: list[str] = []

    def ticket_of(ref: str) -> Ticket | None:
        return session.scalar(select(Ticket).where(Ticket.ref == ref.upper()))

    for address in (*recipients, *mail.to, *mail.cc):
        ref = read_reply_address(secret, address)
        if ref and (ticket := ticket_of(ref)) is not None:
            return Match(ticket, "reply-token", admits_sender=True)

    answered = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))
    for message_id in answered:
        ref = read_message_id(secret, message_id)
        if ref and (ticket := ticket_of(ref)) is not None:
            return Match(ticket, "signed-reference", admits_sender=True)
        if ref is None and OUR_ID.match(message_id):
            flags.append("forged-reference")
    sender = mail.from_address
    if answered:
        known = session.scalars(
            select(TicketMessage).where(TicketMessage.message_id.in_(answered))
        ).all()
        by_id = {message.message_id: message for message in known}
        for message_id in answered:
            if message_id not in by_id:
                continue
            message = by_id[message_id]
            if message.direction == "out":
                # One of ours from before signing, or the desk's own record: genuine.
                return Match(message.ticket, "reference", admits_sender=True, flags=tuple(flags))
            if takes_part(message.ticket, sender):
                return Match(message.ticket, "reference", flags=tuple(flags))
            flags.append("reference-from-stranger")
            break

    found = SUBJECT_REF.search(mail.subject)
    if found and (ticket := ticket_of(found.group(1))) is not None:
        if takes_part(ticket, sender):
            return Match(ticket, "subject-ref", flags=tuple(flags))
        flags.append(f"ref-from-stranger:{ticket.ref}")

    conversation = conversation_id(mail)
    if conversation:
        earlier = session.scalars(
            select(TicketMessage).where(TicketMessage.thread_index == conversation)
        ).first()
        if earlier is not None and takes_part(earlier.ticket, sender):
            return Match(earlier.ticket, "thread-index", flags=tuple(flags))
    return Match(None, flags=tuple(dict.fromkeys(flags)))
