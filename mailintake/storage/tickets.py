"""Ticket refs and the ticket views the CLI prints (the JSON fields DESIGN.md promises)."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from mailintake.storage.models import Event, Ticket, TicketCounter, TicketMessage

REF_PATTERN = r"T-\d{4}-\d{6,}"


def allocate_ref(session: Session, year: int) -> str:
    """The next ref of `year`, e.g. T-2026-000123; numbers are never reused."""
    bump = update(TicketCounter).where(TicketCounter.year == year)
    if session.execute(bump.values(last=TicketCounter.last + 1)).rowcount == 0:  # type: ignore[attr-defined]
        try:
            with session.begin_nested():
                session.execute(insert(TicketCounter).values(year=year, last=1))
        except IntegrityError:
            # Another daemon made this year's counter between our update and insert.
            session.execute(bump.values(last=TicketCounter.last + 1))
    number = session.scalar(select(TicketCounter.last).where(TicketCounter.year == year))
    return f"T-{year}-{number:06d}"


CLOSED_STATES = ("resolved", "closed")
CATEGORY_RANK = {"CAT III": 0, "CAT II": 1, "CAT I": 2}


def next_due(ticket: Ticket) -> datetime | None:
    """The deadline the desk works to now: the response until the first response, then the
    resolution; None for a closed ticket or a clock that is not running."""
    if ticket.status in CLOSED_STATES:
        return None
    if ticket.first_response_at is None and ticket.response_due is not None:
        return ticket.response_due
    return ticket.resolution_due


def queue_order(ticket: Ticket) -> tuple[bool, datetime, int, datetime]:
    """The order the desk handles reports in: by SLA deadline, then category (seed)."""
    due = next_due(ticket)
    return (
        ticket.status in CLOSED_STATES,
        due or datetime.max.replace(tzinfo=UTC),
        CATEGORY_RANK.get(ticket.category or "", 3),
        ticket.created_at,
    )


def iso(value: datetime | None, zone: tzinfo) -> str | None:
    return value.astimezone(zone).isoformat() if value else None


def ticket_view(ticket: Ticket, zone: tzinfo, *, with_timeline: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "ref": ticket.ref,
        "subject": ticket.subject,
        "requester": ticket.requester,
        "requester_name": ticket.requester_name,
        "customer": ticket.customer,
        "plan": ticket.plan,
        "kind": ticket.kind,
        "category": ticket.category,
        "status": ticket.status,
        "incomplete": ticket.incomplete,
        "missing": list(ticket.missing or []),
        "tags": list(ticket.tags or []),
        "flags": list(ticket.flags or []),
        "response_due": iso(ticket.response_due, zone),
        "resolution_due": iso(ticket.resolution_due, zone),
        "first_response_at": iso(ticket.first_response_at, zone),
        "next_due": iso(next_due(ticket), zone),
        "created_at": iso(ticket.created_at, zone),
        "messages": len(ticket.messages),
        "events": [
            {"type": event.type, "at": iso(event.at, zone), "actor": event.actor, **event.data}
            for event in ticket.events
        ],
    }
    if with_timeline:
        view["thread"] = [message_view(message, zone) for message in ticket.messages]
    return view


def message_view(message: TicketMessage, zone: tzinfo) -> dict[str, Any]:
    return {
        "direction": message.direction,
        "author": message.author,
        "message_id": message.message_id,
        "subject": message.subject,
        "at": iso(message.created_at, zone),
        "spool_id": message.spool_id,
        "body": message.body_text,
        "attachments": [
            {"filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments
        ],
    }


def load_ticket(session: Session, ref: str) -> Ticket | None:
    return session.scalar(
        select(Ticket)
        .where(Ticket.ref == ref.upper())
        .options(
            selectinload(Ticket.messages).selectinload(TicketMessage.attachments),
            selectinload(Ticket.events),
        )
    )


def list_tickets(session: Session, *, status: str | None = None) -> list[Ticket]:
    """Tickets in the order they were made; see `queue_order` for the desk's working order."""
    query = (
        select(Ticket)
        .order_by(Ticket.id)
        .options(selectinload(Ticket.messages), selectinload(Ticket.events))
    )
    if status:
        query = query.where(Ticket.status == status)
    return list(session.scalars(query))


def count_tickets(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Ticket)) or 0


def add_event(
    session: Session,
    ticket: Ticket,
    type_: str,
    at: datetime,
    *,
    actor: str = "system",
    message: TicketMessage | None = None,
    **data: Any,
) -> Event:
    event = Event(ticket=ticket, type=type_, at=at, actor=actor, ticket_message=message, data=data)
    session.add(event)
    return event
