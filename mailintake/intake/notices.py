"""The mail a new ticket causes: an answer to the customer and a dispatch to the engineers.

Every mail is rendered, given its Message-ID and queued in the outbox in the same transaction
as the event that caused it, and kept on the ticket as an outgoing message, so a reply to it
threads back to the ticket. The customer gets exactly one of: the web-form answer (user
add/remove), a clarification request (incomplete report) or an acknowledgement with the
response deadline (none for Level 0); unless RFC 3834 or the hourly limit says not to answer
automatically, which is recorded as `not_acknowledged` with the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mailintake.classifiers import Classification
from mailintake.intake.desk import Desk
from mailintake.intake.lifecycle import terms_for
from mailintake.intake.maintenance import under_way
from mailintake.logs import log
from mailintake.mail import ParsedMail
from mailintake.notifier import (
    AcknowledgementContext,
    ClarificationContext,
    DispatchContext,
    Mailbox,
    MailContext,
    MaintenanceUnderWay,
    MissingField,
    Parent,
    Purpose,
    UserAdminFormsContext,
    enqueue,
    recent_auto_replies,
    should_acknowledge,
    within_rate_limit,
)
from mailintake.notifier.compose import compose
from mailintake.signing import reply_address
from mailintake.storage.models import Event, Ticket, TicketMessage
from mailintake.storage.tickets import add_event

logger = logging.getLogger("mailintake.notify")

FORMS_TEMPLATE = "user_admin_forms"
EXCERPT_CHARS = 600


def send(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    context: MailContext,
    *,
    purpose: Purpose,
    to: Mailbox,
    language: str | None,
    event_type: str,
    at: datetime,
    parent: Parent | None = None,
    cause: TicketMessage | None = None,
    cc: Sequence[Mailbox] = (),
    sender_name: str | None = None,
    **details: Any,
) -> Event:
    """Render, compose and queue one mail, with the event (and its `details`) that records it.

    `sender_name` shows who speaks (an engineer) while the address stays the desk's.
    """
    mailer = desk.mailer
    rendered = mailer.templates.render(context, language)
    sender = Mailbox(mailer.sender.address, sender_name or mailer.sender.name)
    message = compose(rendered, purpose=purpose, sender=sender, to=[to], cc=cc, now=at,
                      ref=ticket.ref, parent=parent, zone=desk.zone, secret=desk.secret,
                      reply_to=reply_to_for(desk, ticket, to))  # fmt: skip
    event = add_event(session, ticket, event_type, at, message=cause, to=to.address,
                      message_id=message.message_id, language=rendered.language,
                      **details)  # fmt: skip
    session.flush()
    enqueue(session, ticket_id=ticket.id, event_id=event.id, purpose=purpose,
            message=message, now=at)  # fmt: skip
    session.add(
        TicketMessage(
            ticket=ticket, direction="out", author=mailer.sender.address,
            author_name=mailer.sender.name, message_id=message.message_id,
            dedupe_key=message.message_id, subject=rendered.subject, body_text=rendered.text,
            new_text=rendered.text, created_at=at,
        )
    )  # fmt: skip
    log(logger, "queued", ticket=ticket.ref, purpose=purpose.value, to=to.address,
        message_id=message.message_id)  # fmt: skip
    return event


def reply_to_for(desk: Desk, ticket: Ticket, to: Mailbox) -> Mailbox:
    """A signed reply address, so an answer finds its ticket even when mail clients drop the
    references; made for the engineers (their token proves it is them) or for everyone else."""
    support = desk.mailer.sender
    engineer = to.address == desk.mailer.team or to.address in desk.engineers
    holder = to.address if engineer else None
    return Mailbox(reply_address(desk.secret, support.address, ticket.ref, holder=holder),
                   support.name)  # fmt: skip


def answer_new_ticket(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    classification: Classification,
    *,
    envelope_from: str | None,
    cause: TicketMessage,
    now: datetime,
) -> None:
    c = classification
    if c.auto_reply or c.spam:
        return
    if automatic_reply_allowed(session, desk, ticket, mail, envelope_from, cause, now):
        customer = desk.customers.by_name(ticket.customer) if ticket.customer else None
        text = f"{mail.subject}\n{mail.new_text}"
        maintenance = (
            None if c.close else under_way(session, desk, customer, text, cause.created_at)
        )
        if c.close and c.answer_template == FORMS_TEMPLATE:
            send_forms_answer(session, desk, ticket, mail, cause=cause, now=now)
        elif c.close:
            add_event(session, ticket, "not_acknowledged", now, message=cause,
                      reason=f"no mail for answer template {c.answer_template!r}")  # fmt: skip
        elif maintenance is not None:
            # The maintenance explains the fault: name it rather than ask for details.
            send_acknowledgement(session, desk, ticket, mail, cause=cause, now=now,
                                 maintenance=maintenance)  # fmt: skip
        elif c.incomplete:
            send_clarification(session, desk, ticket, mail, cause=cause, now=now)
        else:
            send_acknowledgement(session, desk, ticket, mail, cause=cause, now=now)
    if not c.close:
        dispatch(session, desk, ticket, "new", cause=cause, now=now, reasons=c.hits)


def automatic_mail(mail: ParsedMail, envelope_from: str | None, desk: Desk) -> str | None:
    """Why `mail` was sent by a machine (RFC 3834 signs, a bounce, a no-reply sender), or None
    for mail a person wrote."""
    decision = should_acknowledge(
        mail, our_addresses=desk.mailer.our_addresses, envelope_from=envelope_from
    )
    return None if decision.acknowledge else decision.reason


def automatic_reply_allowed(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    envelope_from: str | None,
    cause: TicketMessage,
    now: datetime,
) -> bool:
    reason = automatic_mail(mail, envelope_from, desk)
    if reason is None:
        sent = recent_auto_replies(session, mail.from_address, now - timedelta(hours=1))
        limit = desk.mailer.settings.acknowledgements.max_per_sender_per_hour
        decision = within_rate_limit(sent, limit=limit)
        reason = None if decision.acknowledge else decision.reason
    if reason is None:
        return True
    add_event(session, ticket, "not_acknowledged", now, message=cause, reason=reason)
    log(logger, "not_acknowledged", ticket=ticket.ref, reason=reason,
        message_id=mail.message_id)  # fmt: skip
    return False


def requester(ticket: Ticket) -> Mailbox:
    return Mailbox(ticket.requester, ticket.requester_name)


def send_acknowledgement(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail | None,
    *,
    cause: TicketMessage,
    now: datetime,
    maintenance: MaintenanceUnderWay | None = None,
) -> Event:
    terms = terms_for(ticket, desk)
    level_zero = desk.sla_plan(ticket.plan) is None
    language = ticket.language
    # A CAT III calendar is "office+calamity": its hours are described under "calamity".
    calendar = terms.calendar.name.rsplit("+", 1)[-1]
    context = AcknowledgementContext(
        desk=desk.mailer.letterhead,
        ref=ticket.ref,
        requester_name=ticket.requester_name,
        subject=ticket.subject,
        ticket_kind=ticket.kind or "other",
        category=ticket.category,
        customer=ticket.customer,
        level_zero=level_zero,
        response_due=None if level_zero else ticket.response_due,
        service_hours=desk.mailer.settings.service_hours_text(calendar, language or "nl"),
        maintenance=maintenance,
    )
    extra = {"maintenance": maintenance.reference} if maintenance else {}
    return send(session, desk, ticket, context, purpose=Purpose.ACKNOWLEDGEMENT,
                to=requester(ticket), language=language, event_type="acknowledged", at=now,
                parent=Parent.of(mail) if mail else None, cause=cause, **extra)  # fmt: skip


def send_clarification(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    cause: TicketMessage,
    now: datetime,
) -> Event:
    language = ticket.language or desk.mailer.settings.default_language
    asks = {field.name: dict(field.ask) for field in desk.rules.fields}
    missing = tuple(
        MissingField(name=name, ask=asks.get(name, {}).get(language, name))
        for name in ticket.missing
    )
    context = ClarificationContext(desk=desk.mailer.letterhead, ref=ticket.ref,
                                   requester_name=ticket.requester_name,
                                   subject=ticket.subject, missing=missing)  # fmt: skip
    return send(session, desk, ticket, context, purpose=Purpose.CLARIFICATION,
                to=requester(ticket), language=language, event_type="clarification_requested",
                at=now, parent=Parent.of(mail), cause=cause)  # fmt: skip


def send_forms_answer(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    mail: ParsedMail,
    *,
    cause: TicketMessage,
    now: datetime,
) -> Event:
    forms = desk.mailer.settings.forms
    context = UserAdminFormsContext(desk=desk.mailer.letterhead,
                                    requester_name=ticket.requester_name, subject=ticket.subject,
                                    add_user_url=forms.add_user_url,
                                    remove_user_url=forms.remove_user_url)  # fmt: skip
    return send(session, desk, ticket, context, purpose=Purpose.USER_ADMIN_FORMS,
                to=requester(ticket), language=ticket.language, event_type="answered", at=now,
                parent=Parent.of(mail), cause=cause)  # fmt: skip


def dispatch(
    session: Session,
    desk: Desk,
    ticket: Ticket,
    change: str,
    *,
    cause: TicketMessage | None,
    now: datetime,
    previous_category: str | None = None,
    reasons: tuple[str, ...] = (),
) -> Event:
    """Tell the engineers about a new ticket or a changed category."""
    first = next((m for m in ticket.messages if m.direction == "in"), None)
    context = DispatchContext(
        desk=desk.mailer.letterhead,
        change=change,  # type: ignore[arg-type]
        ref=ticket.ref,
        subject=ticket.subject,
        requester=ticket.requester,
        requester_name=ticket.requester_name,
        customer=ticket.customer,
        plan=ticket.plan,
        ticket_kind=ticket.kind or "other",
        category=ticket.category,
        previous_category=previous_category,
        response_due=ticket.response_due,
        resolution_due=ticket.resolution_due,
        missing=tuple(ticket.missing or ()),
        excerpt=(first.new_text if first else "")[:EXCERPT_CHARS],
        reasons=tuple(reasons),
    )
    return send(session, desk, ticket, context, purpose=Purpose.DISPATCH,
                to=desk.mailer.engineers, language=desk.mailer.settings.engineers_language,
                event_type="dispatched", at=now, cause=cause)  # fmt: skip
