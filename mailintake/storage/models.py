"""The database tables, as SQLAlchemy 2 declarative models.

The spool keeps every accepted message's raw bytes; tickets, their messages, attachments and
events are what the pipeline makes of them; the outbox holds mail to send. Times are stored as
aware UTC datetimes (`UtcDateTime` refuses naive ones), so SQLite and PostgreSQL agree.
The schema is changed only through Alembic migrations in `storage/migrations/`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as aware UTC, whatever the database does."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC time")
        value = value.astimezone(UTC)
        # SQLite keeps no offset; store the UTC wall time and put the zone back on reading.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class SpoolState(enum.StrEnum):
    RECEIVED = "received"
    PROCESSED = "processed"
    FAILED = "failed"


class SpoolMessage(Base):
    """One message as it arrived, kept byte for byte whatever becomes of it."""

    __tablename__ = "spool"

    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(200))
    envelope_from: Mapped[str | None] = mapped_column(String(998))
    envelope_to: Mapped[list[str]] = mapped_column(JSON, default=list)
    message_id: Mapped[str | None] = mapped_column(String(998))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default=SpoolState.RECEIVED)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("spool.id"))

    __table_args__ = (
        Index("ix_spool_state_id", "state", "id"),
        Index("ix_spool_message_id", "message_id"),
        Index("ix_spool_sha256", "sha256"),
    )


class TicketCounter(Base):
    """The last ticket number handed out per year, for refs like T-2026-000123."""

    __tablename__ = "ticket_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    requester: Mapped[str] = mapped_column(String(998), default="")
    requester_name: Mapped[str] = mapped_column(Text, default="")
    customer: Mapped[str | None] = mapped_column(String(200))
    plan: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str | None] = mapped_column(String(50))
    category: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="new")
    incomplete: Mapped[bool] = mapped_column(default=False)
    missing: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    language: Mapped[str | None] = mapped_column(String(8))
    # People besides the requester who take part (Cc'd on the report, replying-all).
    participants: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The ticket this one continues (a reply to a closed ticket, when the desk starts anew).
    linked_to: Mapped[str | None] = mapped_column(String(32))
    # The classifier's completeness (fields found and missing), checked again on a reply.
    completeness: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rules_hash: Mapped[str | None] = mapped_column(String(64))
    response_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", order_by="TicketMessage.id"
    )
    events: Mapped[list[Event]] = relationship(back_populates="ticket", order_by="Event.id")


class TicketMessage(Base):
    """A mail on a ticket, inbound or outbound; `dedupe_key` makes a repeat impossible."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    spool_id: Mapped[int | None] = mapped_column(ForeignKey("spool.id"))
    direction: Mapped[str] = mapped_column(String(8))
    author: Mapped[str] = mapped_column(String(998), default="")
    author_name: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(998))
    # The Message-ID, or "sha256:<hex>" of the raw bytes when there is none.
    dedupe_key: Mapped[str] = mapped_column(String(998))
    subject: Mapped[str] = mapped_column(Text, default="")
    body_text: Mapped[str] = mapped_column(Text, default="")
    new_text: Mapped[str] = mapped_column(Text, default="")
    # Outlook's conversation id (the first 22 bytes of Thread-Index), where references are lost.
    thread_index: Mapped[str | None] = mapped_column(String(64), index=True)
    # An engineer's note that is not relayed to the customer.
    internal: Mapped[bool] = mapped_column(default=False)
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="messages")
    attachments: Mapped[list[StoredAttachment]] = relationship(
        back_populates="message", order_by="StoredAttachment.id"
    )

    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_ticket_messages_dedupe_key"),)


class StoredAttachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_message_id: Mapped[int] = mapped_column(ForeignKey("ticket_messages.id"), index=True)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    message: Mapped[TicketMessage] = relationship(back_populates="attachments")


class Event(Base):
    """Something the desk did: who, when, and which message caused it.

    Most events belong to a ticket; a few belong to the desk (ticket_id NULL), such as a rules
    reload, so that every classification can name the rules version it used.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    type: Mapped[str] = mapped_column(String(50))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(998), default="system")
    ticket_message_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_messages.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    ticket: Mapped[Ticket | None] = relationship(back_populates="events")
    ticket_message: Mapped[TicketMessage | None] = relationship()


class SlaWarning(Base):
    """A warning sent for one threshold of one clock; the key makes a second one impossible,
    across restarts and across several daemons on one database."""

    __tablename__ = "sla_warnings"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    metric: Mapped[str] = mapped_column(String(20))
    threshold: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("ticket_id", "metric", "threshold", name="uq_sla_warnings_clock"),
    )


class Maintenance(Base):
    """Planned maintenance: what the customers are told, and when, and to whom it was sent."""

    __tablename__ = "maintenances"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    contact: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    expected_minutes: Mapped[int] = mapped_column(Integer)
    services: Mapped[list[str]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="planned")
    notice_at: Mapped[datetime]
    reminder_at: Mapped[datetime | None]
    notice_sent_at: Mapped[datetime | None]
    reminder_sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # Who got the notice (customer, language, addresses), so a cancellation reaches the same.
    notified: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(Base):
    """A mail to send, written in the same transaction as the event that caused it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"))
    purpose: Mapped[str] = mapped_column(String(50))
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    recipients: Mapped[list[str]] = mapped_column(JSON)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)


from mailintake.storage import mailboxes as _mailboxes  # noqa: E402,F401
