"""The outbox: mail to send, written in the same transaction as the event that caused it.

`enqueue` adds a row to the caller's session and never commits: the row becomes real exactly
when the caller's ticket, event and everything else do, so a crash can neither lose a mail the
desk decided to send nor send one for a decision that was rolled back. Delivery
(`notifier.delivery`) takes rows from here. The other functions are what the CLI lists and what
an admin does with a failed row (requeue it), and the count the acknowledgement rate limit needs.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailintake.notifier.compose import AUTO_REPLIED, ComposedMessage
from mailintake.storage.models import OutboxMessage, OutboxState, utcnow


def enqueue(
    session: Session,
    *,
    ticket_id: int | None,
    event_id: int | None,
    purpose: str,
    message: ComposedMessage,
    now: datetime | None = None,
    not_before: datetime | None = None,
) -> OutboxMessage:
    """Add `message` to the outbox in the caller's transaction; send it from `not_before` on.

    Flushes (so the row has its id and a duplicate Message-ID fails here, in the caller's
    transaction) but does not commit.
    """
    if purpose != message.purpose:
        raise ValueError(f"purpose {purpose!r} differs from the message's ({message.purpose!r})")
    now = now or utcnow()
    row = OutboxMessage(
        ticket_id=ticket_id,
        event_id=event_id,
        purpose=purpose,
        message_id=message.message_id,
        recipients=list(message.recipients),
        raw=message.raw,
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def list_outbox(
    session: Session, state: str | None = None, *, limit: int | None = None
) -> list[OutboxMessage]:
    """Rows in the order they were queued, optionally only those in `state`."""
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if state is not None:
        if state not in {s.value for s in OutboxState}:
            known = ", ".join(s.value for s in OutboxState)
            raise ValueError(f"unknown outbox state {state!r}; use one of {known}")
        query = query.where(OutboxMessage.state == state)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def outbox_view(row: OutboxMessage, zone: tzinfo) -> dict[str, Any]:
    """One row as `mailintake outbox list --json` prints it (no raw bytes)."""

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value else None

    return {
        "id": row.id,
        "ticket_id": row.ticket_id,
        "event_id": row.event_id,
        "purpose": row.purpose,
        "message_id": row.message_id,
        "recipients": list(row.recipients),
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.state == OutboxState.PENDING else None,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
        "size": len(row.raw),
    }


def requeue(session: Session, outbox_id: int, now: datetime) -> bool:
    """Give a failed message another try at `now`; False if there is no failed row with that
    id. The Message-ID stays, so it is still the same mail. `created_at` stays too, so a message
    older than the give-up age gets exactly one more try, not another two days of retries."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.state == OutboxState.FAILED)
        .values(state=OutboxState.PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def recent_auto_replies(session: Session, address: str, since: datetime) -> int:
    """How many automatic replies (acknowledgements, clarifications, form answers) went to
    `address` since `since`, for the per-sender hourly limit. Failed ones count too: they were
    decided on, and a sender that keeps writing is what the limit is for."""
    address = address.lower()
    rows = session.scalars(
        select(OutboxMessage.recipients).where(
            OutboxMessage.created_at >= since,
            OutboxMessage.purpose.in_([purpose.value for purpose in AUTO_REPLIED]),
        )
    )
    # Recipients are a JSON list; matching inside it differs between SQLite and PostgreSQL,
    # and an hour of auto-replies is few enough rows to filter here.
    return sum(1 for recipients in rows if address in (r.lower() for r in recipients))
