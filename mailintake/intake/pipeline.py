"""The pipeline: a spooled message becomes a ticket, or a message on one, in one transaction.

Stages run in order on a `Draft`: parse (outside the transaction, it is the slow part), then
screen (a repeat of a mail we already have?), thread (a reply to which ticket?), classify (the
rules judge a new report) and apply (write ticket, message, attachments and events, start the
SLA clocks, mark the spool row processed). A stage that raises
`Duplicate` ends the message quietly as processed; anything else is a bug or a broken mail, and
the worker marks the message failed with the error and goes on with the next.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailintake.classifiers import Classification, classify
from mailintake.intake.desk import Desk
from mailintake.intake.lifecycle import apply_classification, recheck_on_reply
from mailintake.intake.notices import answer_new_ticket, automatic_mail, send_acknowledgement
from mailintake.intake.parse import Parsed
from mailintake.logs import log
from mailintake.mail import ParsedMail
from mailintake.storage.models import (
    SpoolMessage,
    SpoolState,
    StoredAttachment,
    Ticket,
    TicketMessage,
    utcnow,
)
from mailintake.storage.tickets import REF_PATTERN, add_event, allocate_ref

logger = logging.getLogger("mailintake.pipeline")

SUBJECT_REF = re.compile(rf"\[?({REF_PATTERN})\]?", re.IGNORECASE)


@dataclass
class Draft:
    spool_id: int
    received_at: datetime
    sha256: str
    parsed: Parsed
    ticket: Ticket | None = None
    envelope_from: str | None = None
    threaded_by: str | None = None
    classification: Classification | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def dedupe_key(self) -> str:
        return self.parsed.mail.message_id or f"sha256:{self.sha256}"


@dataclass(frozen=True)
class Outcome:
    spool_id: int
    ticket_ref: str | None
    message_id: str | None
    created: bool
    duplicate_of: int | None = None


class Duplicate(Exception):
    def __init__(self, existing: TicketMessage) -> None:
        super().__init__(f"already have this message as spool {existing.spool_id}")
        self.existing = existing


def screen_duplicate(session: Session, draft: Draft) -> None:
    existing = session.scalar(
        select(TicketMessage).where(TicketMessage.dedupe_key == draft.dedupe_key)
    )
    if existing is not None:
        raise Duplicate(existing)


def thread(session: Session, draft: Draft) -> None:
    """Attach a reply to its ticket: by the Message-IDs it answers, else by a ref in the subject
    when the sender is that ticket's requester."""
    mail = draft.parsed.mail
    answered = [*mail.in_reply_to, *reversed(mail.references)]
    if answered:
        known = session.scalars(
            select(TicketMessage).where(TicketMessage.message_id.in_(answered))
        ).all()
        if known:
            by_id = {message.message_id: message for message in known}
            first = next(by_id[mid] for mid in answered if mid in by_id)
            draft.ticket, draft.threaded_by = first.ticket, "references"
            return
    found = SUBJECT_REF.search(mail.subject)
    if found:
        ticket = session.scalar(select(Ticket).where(Ticket.ref == found.group(1).upper()))
        if ticket is not None and ticket.requester == mail.from_address:
            draft.ticket, draft.threaded_by = ticket, "subject-ref"


def judge_mail(mail: ParsedMail, received_at: datetime, desk: Desk) -> Classification:
    return classify(
        mail,
        rules=desk.rules,
        customers=desk.customers,
        received_in_service_hours=desk.in_service_hours(received_at),
    )


def judge(draft: Draft, desk: Desk, judged: Classification | None) -> None:
    """A new report is classified by the rules (`judged`: already, outside the transaction);
    a reply keeps its ticket's classification."""
    if draft.ticket is None:
        draft.classification = judged or judge_mail(draft.parsed.mail, draft.received_at, desk)


def apply(session: Session, draft: Draft, desk: Desk) -> TicketMessage:
    mail = draft.parsed.mail
    created = draft.ticket is None
    if draft.ticket is None:
        year = draft.received_at.astimezone(desk.zone).year
        draft.ticket = Ticket(
            ref=allocate_ref(session, year),
            subject=mail.subject,
            requester=mail.from_address,
            requester_name=mail.from_name,
            status="new",
            incomplete=False,
            missing=[],
            tags=[],
            flags=["malformed"] if mail.defects else [],
            created_at=draft.received_at,
        )
        session.add(draft.ticket)
    message = TicketMessage(
        ticket=draft.ticket,
        spool_id=draft.spool_id,
        direction="in",
        author=mail.from_address,
        author_name=mail.from_name,
        message_id=mail.message_id,
        dedupe_key=draft.dedupe_key,
        subject=mail.subject,
        body_text=mail.text,
        new_text=mail.new_text,
        created_at=draft.received_at,
    )
    session.add(message)
    for attachment in draft.parsed.attachments:
        session.add(
            StoredAttachment(
                message=message,
                filename=attachment.meta.filename,
                content_type=attachment.meta.content_type,
                size=attachment.meta.size,
                sha256=attachment.sha256,
                data=attachment.data,
            )
        )
    extra = {"threaded_by": draft.threaded_by} if draft.threaded_by else {}
    if mail.defects:
        extra["defects"] = list(mail.defects)
    add_event(
        session,
        draft.ticket,
        "received" if created else "reply_received",
        draft.received_at,
        actor=mail.from_address or "unknown",
        message=message,
        spool_id=draft.spool_id,
        **extra,
    )
    now = utcnow()
    if draft.classification is not None:
        apply_classification(
            session, draft.ticket, draft.classification, draft.received_at, message, desk
        )
        answer_new_ticket(session, desk, draft.ticket, mail, draft.classification,
                          envelope_from=draft.envelope_from, cause=message, now=now)  # fmt: skip
    elif (automatic := automatic_mail(mail, draft.envelope_from, desk)) is not None:
        # An out-of-office or a bounce answering our mail: kept on the ticket, nothing more;
        # it is not the customer's answer, so no clock moves.
        add_event(session, draft.ticket, "automatic_reply", draft.received_at, message=message,
                  actor=mail.from_address or "unknown", reason=automatic)  # fmt: skip
    elif recheck_on_reply(session, draft.ticket, mail, draft.received_at, message, desk):
        send_acknowledgement(session, desk, draft.ticket, mail, cause=message, now=now)
    return message


def process(
    session: Session,
    row: SpoolMessage,
    parsed: Parsed,
    desk: Desk,
    judged: Classification | None = None,
) -> Outcome:
    """Run the stages for one claimed spool row, inside the caller's transaction."""
    draft = Draft(row.id, row.received_at, row.sha256, parsed, envelope_from=row.envelope_from)
    try:
        screen_duplicate(session, draft)
        thread(session, draft)
        created = draft.ticket is None
        judge(draft, desk, judged)
        message = apply(session, draft, desk)
    except Duplicate as duplicate:
        row.state = SpoolState.PROCESSED
        row.processed_at = utcnow()
        row.duplicate_of = duplicate.existing.spool_id
        row.ticket_id = duplicate.existing.ticket_id
        row.error = None
        ref = duplicate.existing.ticket.ref
        log(logger, "duplicate", spool_id=row.id, message_id=row.message_id, ticket=ref,
            duplicate_of=duplicate.existing.spool_id)  # fmt: skip
        return Outcome(row.id, ref, parsed.mail.message_id, False, duplicate.existing.spool_id)
    session.flush()
    row.state = SpoolState.PROCESSED
    row.processed_at = utcnow()
    row.ticket_id = message.ticket_id
    row.error = None
    assert draft.ticket is not None
    c = draft.classification
    log(logger, "ticket_created" if created else "reply_attached", spool_id=row.id,
        message_id=parsed.mail.message_id, ticket=draft.ticket.ref, parser=parsed.parser,
        threaded_by=draft.threaded_by, kind=c and c.kind, category=c and c.category,
        customer=c and c.customer, incomplete=draft.ticket.incomplete)  # fmt: skip
    return Outcome(row.id, draft.ticket.ref, parsed.mail.message_id, created)
