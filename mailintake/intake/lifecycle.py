"""A ticket's lifecycle: classification, SLA clocks and deadlines, written as events.

Clocks are event-sourced: every start, pause, resume and stop is a `clock` event with the
metric, and `refresh_deadlines` folds those events with the ticket's current terms (plan, kind,
category) into `response_due` and `resolution_due`. A category change therefore recomputes the
deadlines from the original start with the new targets. The response clock starts when the
report is complete; an incomplete report waits for the customer's reply (`recheck_on_reply`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailintake.classifiers import Classification, Customer, recheck_completeness
from mailintake.intake.desk import Desk
from mailintake.mail import ParsedMail
from mailintake.sla import ClockChange, Metric, Terms
from mailintake.storage.models import Event, Ticket, TicketMessage
from mailintake.storage.tickets import add_event

CLOCK = "clock"


def terms_for(ticket: Ticket, desk: Desk) -> Terms:
    return desk.levels.terms(desk.sla_plan(ticket.plan), ticket.kind, ticket.category)


def clock_changes(ticket: Ticket, metric: Metric) -> list[ClockChange]:
    return [
        ClockChange(event.at, event.data["action"])
        for event in ticket.events
        if event.type == CLOCK and event.data.get("metric") == metric
    ]


def refresh_deadlines(ticket: Ticket, desk: Desk) -> None:
    terms = terms_for(ticket, desk)
    ticket.response_due = terms.clock("response", clock_changes(ticket, "response")).deadline()
    ticket.resolution_due = terms.clock(
        "resolution", clock_changes(ticket, "resolution")
    ).deadline()


def change_clock(
    session: Session,
    ticket: Ticket,
    metric: Metric,
    action: str,
    at: datetime,
    *,
    actor: str = "system",
    message: TicketMessage | None = None,
    reason: str,
) -> Event:
    return add_event(
        session, ticket, CLOCK, at, actor=actor, message=message,
        metric=metric, action=action, reason=reason,
    )  # fmt: skip


def apply_classification(
    session: Session,
    ticket: Ticket,
    classification: Classification,
    at: datetime,
    message: TicketMessage,
    desk: Desk,
) -> None:
    """Put what the rules decided on a new ticket, and start what the SLA says starts."""
    c = classification
    ticket.kind, ticket.category = c.kind, c.category
    ticket.customer, ticket.plan, ticket.language = c.customer, c.plan, c.language
    ticket.tags = list(c.tags)
    ticket.completeness = c.completeness.to_dict()
    ticket.incomplete, ticket.missing = c.incomplete, list(c.missing)
    ticket.rules_hash = c.rules_hash
    add_event(
        session, ticket, "classified", at, message=message,
        kind=c.kind, category=c.category, customer=c.customer, plan=c.plan, tags=list(c.tags),
        rules_hash=c.rules_hash, hits=list(c.hits), decided_by=dict(c.decided_by),
    )  # fmt: skip
    if c.auto_reply or c.spam:
        reason = "auto-reply or bounce" if c.auto_reply else "spam"
        close(session, ticket, at, reason=reason, message=message)
    elif c.close:
        close(session, ticket, at, reason=f"answered with {c.answer_template}", message=message)
    elif c.incomplete:
        add_event(session, ticket, "incomplete", at, message=message, missing=list(c.missing))
    else:
        change_clock(session, ticket, "response", "start", at, message=message,
                     reason="report complete")  # fmt: skip
    refresh_deadlines(ticket, desk)


def close(
    session: Session, ticket: Ticket, at: datetime, *, reason: str, message: TicketMessage
) -> None:
    ticket.status = "closed"
    add_event(session, ticket, "closed", at, message=message, reason=reason)


def change_category(
    session: Session,
    ticket: Ticket,
    category: str | None,
    at: datetime,
    desk: Desk,
    *,
    actor: str,
    message: TicketMessage | None = None,
) -> None:
    """A new category: deadlines are recomputed from the clocks' original starts."""
    previous = ticket.category
    ticket.category = category
    add_event(session, ticket, "category_changed", at, actor=actor, message=message,
              previous=previous, category=category)  # fmt: skip
    refresh_deadlines(ticket, desk)


def record_response(
    session: Session,
    ticket: Ticket,
    at: datetime,
    desk: Desk,
    *,
    actor: str,
    message: TicketMessage | None = None,
) -> None:
    """An engineer answered the customer; the first answer stops the response clock."""
    add_event(session, ticket, "responded", at, actor=actor, message=message)
    if ticket.first_response_at is None:
        ticket.first_response_at = at
        change_clock(session, ticket, "response", "stop", at, actor=actor, message=message,
                     reason="first response")  # fmt: skip
    if ticket.status == "new":
        ticket.status = "open"
    refresh_deadlines(ticket, desk)


def start_resolution(
    session: Session,
    ticket: Ticket,
    at: datetime,
    desk: Desk,
    *,
    actor: str,
    message: TicketMessage | None = None,
) -> None:
    """The resolution plan is carried out: resolution time begins (seed: SLA VoIP)."""
    change_clock(session, ticket, "resolution", "start", at, actor=actor, message=message,
                 reason="resolution plan carried out")  # fmt: skip
    refresh_deadlines(ticket, desk)


def wait_for_customer(
    session: Session,
    ticket: Ticket,
    at: datetime,
    desk: Desk,
    *,
    actor: str,
    message: TicketMessage | None = None,
) -> None:
    """Pending on the customer: only the resolution clock pauses."""
    ticket.status = "pending"
    add_event(session, ticket, "status_changed", at, actor=actor, message=message,
              status="pending")  # fmt: skip
    change_clock(session, ticket, "resolution", "pause", at, actor=actor, message=message,
                 reason="waiting for the customer")  # fmt: skip
    refresh_deadlines(ticket, desk)


def resolve(
    session: Session,
    ticket: Ticket,
    at: datetime,
    desk: Desk,
    *,
    actor: str,
    message: TicketMessage | None = None,
) -> None:
    ticket.status = "resolved"
    add_event(session, ticket, "resolved", at, actor=actor, message=message)
    change_clock(session, ticket, "resolution", "stop", at, actor=actor, message=message,
                 reason="resolved")  # fmt: skip
    refresh_deadlines(ticket, desk)


def recheck_on_reply(
    session: Session,
    ticket: Ticket,
    mail: ParsedMail,
    at: datetime,
    message: TicketMessage,
    desk: Desk,
) -> bool:
    """A customer's reply: to a ticket waiting for the customer, the resolution clock resumes;
    to a clarification request, the response clock starts once the report is complete.
    True when this reply completed the report."""
    if mail.from_address != ticket.requester:
        return False
    if ticket.status == "pending":
        ticket.status = "open"
        add_event(session, ticket, "status_changed", at, actor=mail.from_address,
                  message=message, status="open")  # fmt: skip
        change_clock(session, ticket, "resolution", "resume", at, actor=mail.from_address,
                     message=message, reason="the customer answered")  # fmt: skip
        refresh_deadlines(ticket, desk)
    if not ticket.incomplete:
        return False
    customer: Customer | None = desk.customers.by_name(ticket.customer) if ticket.customer else None
    completeness = recheck_completeness(
        ticket.completeness or {}, mail, rules=desk.rules, customer=customer
    )
    ticket.completeness = completeness.to_dict()
    ticket.missing = list(completeness.missing)
    if completeness.incomplete:
        add_event(session, ticket, "incomplete", at, message=message,
                  missing=list(completeness.missing))  # fmt: skip
        return False
    ticket.incomplete = False
    add_event(session, ticket, "clarified", at, actor=mail.from_address, message=message)
    change_clock(session, ticket, "response", "start", at, message=message,
                 reason="report complete after clarification")  # fmt: skip
    refresh_deadlines(ticket, desk)
    return True
