"""The pipeline: a spooled message becomes a ticket, or a message on one, in one transaction.

Before the transaction (no database needed, and they are the slow part): parse, classify with
the rules, and judge whether a mail claiming an engineer's address really is theirs. Then, in
one transaction, the stages run on a `Draft`:

    screen   a repeat of a mail we already have?            → Duplicate: processed quietly
    thread   a reply to which ticket? (threads.find_ticket)  → ticket, flags, reopen or link
    apply    the message, its attachments and events; then, by who wrote it:
               a new report      → classification, clocks, acknowledgement, dispatch
               a trusted engineer → commands, relay, response clock (engineers.py)
               a machine          → kept quietly (out-of-office, bounce)
               the customer       → completeness rechecked, waiting clock resumed

Anything a stage raises other than `Duplicate` is a bug or a broken mail: the worker marks the
message failed with the error and goes on with the next.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailintake.classifiers import Classification, classify
from mailintake.intake.desk import Desk
from mailintake.intake.engineers import handle_engineer_mail
from mailintake.intake.lifecycle import (
    apply_classification,
    change_clock,
    clock_changes,
    recheck_on_reply,
)
from mailintake.intake.notices import answer_new_ticket, automatic_mail, send_acknowledgement
from mailintake.intake.parse import Parsed
from mailintake.intake.threads import conversation_id, find_ticket, takes_part
from mailintake.intake.trust import TrustUnavailable, Verdict, check_engineer
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
from mailintake.storage.tickets import add_event, allocate_ref

logger = logging.getLogger("mailintake.pipeline")


@dataclass
class Draft:
    spool_id: int
    received_at: datetime
    sha256: str
    parsed: Parsed
    ticket: Ticket | None = None
    envelope_from: str | None = None
    recipients: tuple[str, ...] = ()
    # Mail brought in from an old mailbox becomes tickets quietly: no mail about old news.
    imported: bool = False
    threaded_by: str | None = None
    classification: Classification | None = None
    verdict: Verdict | None = None
    admits_sender: bool = False
    reopen: bool = False
    linked_to: str | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def dedupe_key(self) -> str:
        return self.parsed.mail.message_id or f"sha256:{self.sha256}"

    @property
    def engineer(self) -> str | None:
        """The engineer who wrote the mail, when the trust check proved it."""
        return self.verdict.engineer if self.verdict and self.verdict.trusted else None


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


def judge_mail(mail: ParsedMail, received_at: datetime, desk: Desk) -> Classification:
    return classify(
        mail,
        rules=desk.rules,
        customers=desk.customers,
        received_in_service_hours=desk.in_service_hours(received_at),
    )


def judge_sender(mail: ParsedMail, raw: bytes, recipients: tuple[str, ...], desk: Desk) -> Verdict:
    """Is the mail an engineer's? Outside the transaction: `dkim` mode asks DNS."""
    try:
        return check_engineer(mail, raw, engineers=desk.engineers, settings=desk.trust,
                              recipients=recipients, secret=desk.secret,
                              team=desk.mailer.team)  # fmt: skip
    except TrustUnavailable as error:
        # Unverified, it is handled as a customer's mail: nothing it asks is done.
        return Verdict(None, False, f"could not verify the engineer ({error}): spoofed?",
                       claimed=mail.from_address)  # fmt: skip


def screen_duplicate(session: Session, draft: Draft) -> None:
    existing = session.scalar(
        select(TicketMessage).where(TicketMessage.dedupe_key == draft.dedupe_key)
    )
    if existing is not None:
        raise Duplicate(existing)


def thread(session: Session, draft: Draft, desk: Desk) -> None:
    mail = draft.parsed.mail
    match = find_ticket(session, mail, recipients=draft.recipients, secret=desk.secret)
    draft.flags.extend(match.flags)
    ticket = match.ticket
    if ticket is not None and ticket.status == "closed":
        if desk.threads.closed_reply == "new":
            draft.linked_to, ticket = ticket.ref, None
        else:
            draft.reopen = True
    if ticket is not None:
        draft.ticket, draft.threaded_by = ticket, match.how
        draft.admits_sender = match.admits_sender


def apply(session: Session, draft: Draft, desk: Desk) -> TicketMessage:
    mail = draft.parsed.mail
    created = draft.ticket is None
    ticket = draft.ticket or new_ticket(session, draft, desk)
    message = TicketMessage(
        ticket=ticket,
        spool_id=draft.spool_id,
        direction="in",
        author=mail.from_address,
        author_name=mail.from_name,
        message_id=mail.message_id,
        dedupe_key=draft.dedupe_key,
        subject=mail.subject,
        body_text=mail.text,
        new_text=mail.new_text,
        thread_index=conversation_id(mail),
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
    at, actor = draft.received_at, mail.from_address or "unknown"
    add_event(session, ticket, "received" if created else "reply_received", at, actor=actor,
              message=message, spool_id=draft.spool_id, **extra)  # fmt: skip
    flag(session, ticket, draft, desk, message)
    now = utcnow()
    if draft.classification is not None:
        apply_classification(session, ticket, draft.classification, at, message, desk)
        if draft.imported:
            add_event(session, ticket, "imported", at, message=message,
                      note="from a backlog import: no acknowledgement, no dispatch")  # fmt: skip
        else:
            answer_new_ticket(
                session, desk, ticket, mail, draft.classification,
                envelope_from=draft.envelope_from, cause=message, now=now,
            )  # fmt: skip
        return message
    if draft.reopen:
        reopen(session, ticket, at, actor=actor, message=message)
    if draft.engineer:
        handle_engineer_mail(session, desk, ticket, mail, message,
                             engineer=desk.engineers[draft.engineer], at=at, now=now)  # fmt: skip
    elif (automatic := automatic_mail(mail, draft.envelope_from, desk)) is not None:
        # An out-of-office or a bounce answering our mail: kept on the ticket, nothing more;
        # it is not the customer's answer, so no clock moves.
        add_event(session, ticket, "automatic_reply", at, message=message, actor=actor,
                  reason=automatic)  # fmt: skip
    else:
        admit(session, ticket, draft, desk, message)
        if recheck_on_reply(session, ticket, mail, at, message, desk):
            send_acknowledgement(session, desk, ticket, mail, cause=message, now=now)
    return message


def new_ticket(session: Session, draft: Draft, desk: Desk) -> Ticket:
    mail = draft.parsed.mail
    ticket = Ticket(
        ref=allocate_ref(session, draft.received_at.astimezone(desk.zone).year),
        subject=mail.subject,
        requester=mail.from_address,
        requester_name=mail.from_name,
        participants=[
            address
            for address in dict.fromkeys((*mail.to, *mail.cc))
            if address != mail.from_address and not of_the_desk(address, desk)
        ],
        status="new",
        incomplete=False,
        missing=[],
        tags=[],
        flags=["malformed"] if mail.defects else [],
        linked_to=draft.linked_to,
        created_at=draft.received_at,
    )
    session.add(ticket)
    draft.ticket = ticket
    return ticket


def of_the_desk(address: str, desk: Desk) -> bool:
    """One of the desk's own addresses (plus-addressed too) or an engineer's: never a
    participant of a customer's ticket."""
    local, _, domain = address.rpartition("@")
    base = f"{local.split('+', 1)[0]}@{domain}"
    ours = desk.mailer.our_addresses
    return address in ours or base in ours or address in desk.engineers


def admit(
    session: Session, ticket: Ticket, draft: Draft, desk: Desk, message: TicketMessage
) -> None:
    """A colleague replying-all through the ticket's own mail joins it as a participant."""
    sender = draft.parsed.mail.from_address
    if (
        draft.admits_sender
        and sender
        and not takes_part(ticket, sender)
        and not of_the_desk(sender, desk)
    ):
        ticket.participants = [*(ticket.participants or []), sender]
        add_event(session, ticket, "participant_added", draft.received_at, actor=sender,
                  message=message, participant=sender)  # fmt: skip


def flag(
    session: Session, ticket: Ticket, draft: Draft, desk: Desk, message: TicketMessage
) -> None:
    reasons = list(draft.flags)
    if draft.verdict is not None and draft.verdict.suspect:
        reasons.append("spoofed-engineer")
    if draft.linked_to:
        reasons.append(f"continues:{draft.linked_to}")
    if not reasons:
        return
    ticket.flags = list(dict.fromkeys([*(ticket.flags or []), *(r.split(":")[0] for r in reasons)]))
    detail = draft.verdict.reason if draft.verdict and draft.verdict.suspect else None
    add_event(session, ticket, "flagged", draft.received_at, message=message,
              actor=draft.parsed.mail.from_address or "unknown", reasons=reasons,
              detail=detail)  # fmt: skip


def reopen(
    session: Session, ticket: Ticket, at: datetime, *, actor: str, message: TicketMessage
) -> None:
    ticket.status = "open"
    add_event(session, ticket, "reopened", at, actor=actor, message=message)
    if clock_changes(ticket, "resolution"):
        change_clock(session, ticket, "resolution", "resume", at, actor=actor, message=message,
                     reason="reopened by a reply")  # fmt: skip


def process(
    session: Session,
    row: SpoolMessage,
    parsed: Parsed,
    desk: Desk,
    judged: Classification | None = None,
    verdict: Verdict | None = None,
) -> Outcome:
    """Run the stages for one claimed spool row, inside the caller's transaction."""
    draft = Draft(row.id, row.received_at, row.sha256, parsed, envelope_from=row.envelope_from,
                  recipients=tuple(row.envelope_to or ()), verdict=verdict,
                  imported=row.source.startswith("import:"))  # fmt: skip
    try:
        screen_duplicate(session, draft)
        thread(session, draft, desk)
        created = draft.ticket is None
        if created:
            draft.classification = judged or judge_mail(parsed.mail, draft.received_at, desk)
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
    ticket = message.ticket
    c = draft.classification
    log(logger, "ticket_created" if created else "reply_attached", spool_id=row.id,
        message_id=parsed.mail.message_id, ticket=ticket.ref, parser=parsed.parser,
        threaded_by=draft.threaded_by, engineer=draft.engineer, kind=c and c.kind,
        category=c and c.category, customer=c and c.customer,
        incomplete=ticket.incomplete, flags=",".join(draft.flags) or None)  # fmt: skip
    return Outcome(row.id, ticket.ref, parsed.mail.message_id, created)
