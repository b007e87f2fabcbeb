"""The spool: every accepted message's raw bytes, committed before anyone is told yes.

Sources call `store_many` (one transaction, so a burst from many SMTP clients costs one commit)
and answer their sender only after it returns. The pipeline reads received messages in order of
arrival and marks each processed or failed; nothing here ever deletes a message.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailintake.headers import header_message_id
from mailintake.storage.database import core_transaction, transaction
from mailintake.storage.models import SpoolMessage, SpoolState, utcnow


@dataclass(frozen=True)
class Arrival:
    """Raw bytes as a source handed them over, with where they came from."""

    raw: bytes
    source: str
    envelope_from: str | None = None
    envelope_to: tuple[str, ...] = field(default=())
    # When it arrived; None is now. Tests and backlog imports pass their own.
    received_at: datetime | None = None


class Waiting(NamedTuple):
    """A spooled message still to be processed."""

    id: int
    raw: bytes
    received_at: datetime
    envelope_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpoolEntry:
    id: int
    received_at: datetime
    source: str
    state: str
    size: int
    message_id: str | None
    error: str | None
    attempts: int
    ticket_id: int | None
    duplicate_of: int | None


def _entry(row: SpoolMessage) -> SpoolEntry:
    return SpoolEntry(
        id=row.id,
        received_at=row.received_at,
        source=row.source,
        state=row.state,
        size=row.size,
        message_id=row.message_id,
        error=row.error,
        attempts=row.attempts,
        ticket_id=row.ticket_id,
        duplicate_of=row.duplicate_of,
    )


class Spool:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def store(self, arrival: Arrival) -> int:
        return self.store_many([arrival])[0]

    def store_many(self, arrivals: Sequence[Arrival]) -> list[int]:
        """Commit all arrivals in one transaction; returns their spool ids, in order."""
        now = utcnow()
        rows = [
            {
                "source": arrival.source,
                "envelope_from": arrival.envelope_from,
                "envelope_to": list(arrival.envelope_to),
                "message_id": header_message_id(arrival.raw),
                "sha256": hashlib.sha256(arrival.raw).hexdigest(),
                "size": len(arrival.raw),
                "raw": arrival.raw,
                "state": SpoolState.RECEIVED.value,
                "received_at": arrival.received_at or now,
                "attempts": 0,
            }
            for arrival in arrivals
        ]
        inserted = insert(SpoolMessage).returning(SpoolMessage.id, sort_by_parameter_order=True)
        with core_transaction(self.sessions.kw["bind"]) as connection:
            return list(connection.scalars(inserted, rows))

    def next_received(self, after_id: int = 0) -> Waiting | None:
        """The oldest message still waiting to be processed (after `after_id`)."""
        with transaction(self.sessions, write=False) as session:
            row = session.execute(
                select(
                    SpoolMessage.id,
                    SpoolMessage.raw,
                    SpoolMessage.received_at,
                    SpoolMessage.envelope_to,
                )
                .where(SpoolMessage.state == SpoolState.RECEIVED, SpoolMessage.id > after_id)
                .order_by(SpoolMessage.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            return Waiting(row.id, row.raw, row.received_at, tuple(row.envelope_to or ()))

    def mark_failed(self, spool_id: int, error: str) -> None:
        with transaction(self.sessions) as session:
            session.execute(
                update(SpoolMessage)
                .where(SpoolMessage.id == spool_id)
                .values(
                    state=SpoolState.FAILED,
                    error=error,
                    attempts=SpoolMessage.attempts + 1,
                    processed_at=utcnow(),
                )
            )

    def entries(self, state: str | None = None, limit: int | None = None) -> list[SpoolEntry]:
        with transaction(self.sessions, write=False) as session:
            query = select(SpoolMessage).order_by(SpoolMessage.id)
            if state:
                query = query.where(SpoolMessage.state == state)
            if limit:
                query = query.limit(limit)
            return [_entry(row) for row in session.scalars(query)]

    def raw(self, spool_id: int) -> bytes | None:
        with transaction(self.sessions, write=False) as session:
            return session.scalar(select(SpoolMessage.raw).where(SpoolMessage.id == spool_id))

    def retry(self, spool_ids: Sequence[int] | None = None) -> int:
        """Put failed messages back in line; None means all failed ones. Returns how many."""
        with transaction(self.sessions) as session:
            query = update(SpoolMessage).where(SpoolMessage.state == SpoolState.FAILED)
            if spool_ids is not None:
                query = query.where(SpoolMessage.id.in_(spool_ids))
            result = session.execute(query.values(state=SpoolState.RECEIVED))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def counts(self) -> dict[str, int]:
        with transaction(self.sessions, write=False) as session:
            rows = session.execute(
                select(SpoolMessage.state, func.count()).group_by(SpoolMessage.state)
            )
            return {state: count for state, count in rows}
