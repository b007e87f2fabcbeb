"""Where each IMAP mailbox stands: its UIDVALIDITY, the last UID taken, and its health.

The poller takes messages above `last_uid` (never by the \\Seen flag) and moves the checkpoint
only after the spool has committed a batch and the after-store action is done, so a crash in
between makes it fetch that batch again, which the pipeline's dedupe turns into duplicates, not
second tickets. A new UIDVALIDITY means the server renumbered the folder: the checkpoint starts
again from 0. Health is written when it changes, not on every try, for `mailintake imap check`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from mailintake.storage.database import transaction
from mailintake.storage.models import Base, SpoolMessage, utcnow

# Values per IN (…) query: well under SQLite's and PostgreSQL's parameter limits.
LOOKUP_CHUNK = 500


class MailboxCheckpoint(Base):
    __tablename__ = "imap_checkpoints"

    # ImapSettings.key: user@host:port/folder.
    mailbox: Mapped[str] = mapped_column(String(500), primary_key=True)
    # Both are unsigned 32-bit numbers in IMAP, beyond PostgreSQL's INTEGER.
    uid_validity: Mapped[int | None] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    stored: Mapped[int] = mapped_column(BigInteger, default=0)
    healthy: Mapped[bool] = mapped_column(Boolean, default=True)
    problem: Mapped[str | None] = mapped_column(Text)
    problem_since: Mapped[datetime | None]
    contacted_at: Mapped[datetime | None]
    stored_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


@dataclass(frozen=True)
class Checkpoint:
    mailbox: str
    uid_validity: int | None
    last_uid: int
    stored: int
    healthy: bool
    problem: str | None
    problem_since: datetime | None
    contacted_at: datetime | None
    stored_at: datetime | None


def _plain(row: MailboxCheckpoint) -> Checkpoint:
    return Checkpoint(
        mailbox=row.mailbox,
        uid_validity=row.uid_validity,
        last_uid=row.last_uid,
        stored=row.stored,
        healthy=row.healthy,
        problem=row.problem,
        problem_since=row.problem_since,
        contacted_at=row.contacted_at,
        stored_at=row.stored_at,
    )


def _row(session: Session, mailbox: str) -> MailboxCheckpoint:
    row = session.get(MailboxCheckpoint, mailbox)
    if row is None:
        row = MailboxCheckpoint(mailbox=mailbox, last_uid=0, stored=0, healthy=True)
        session.add(row)
    return row


def load(sessions: sessionmaker[Session], mailbox: str) -> Checkpoint | None:
    with transaction(sessions, write=False) as session:
        row = session.get(MailboxCheckpoint, mailbox)
        return _plain(row) if row is not None else None


def load_all(sessions: sessionmaker[Session]) -> dict[str, Checkpoint]:
    with transaction(sessions, write=False) as session:
        return {row.mailbox: _plain(row) for row in session.scalars(select(MailboxCheckpoint))}


def start_over(
    sessions: sessionmaker[Session], mailbox: str, uid_validity: int, last_uid: int
) -> None:
    """A first contact or a new UIDVALIDITY: the position is set, not advanced."""
    now = utcnow()
    with transaction(sessions) as session:
        row = _row(session, mailbox)
        row.uid_validity, row.last_uid = uid_validity, last_uid
        row.contacted_at = row.updated_at = now


def advance(
    sessions: sessionmaker[Session], mailbox: str, uid_validity: int, last_uid: int, stored: int
) -> None:
    """After a batch is spooled and its after-store action done; never moves backwards."""
    now = utcnow()
    with transaction(sessions) as session:
        row = _row(session, mailbox)
        if row.uid_validity != uid_validity:
            row.uid_validity, row.last_uid = uid_validity, last_uid
        else:
            row.last_uid = max(row.last_uid, last_uid)
        row.stored += stored
        if stored:
            row.stored_at = now
        row.contacted_at = row.updated_at = now


def mark_healthy(sessions: sessionmaker[Session], mailbox: str) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        row = _row(session, mailbox)
        row.healthy, row.problem, row.problem_since = True, None, None
        row.contacted_at = row.updated_at = now


def mark_unhealthy(sessions: sessionmaker[Session], mailbox: str, problem: str) -> None:
    now = utcnow()
    with transaction(sessions) as session:
        row = _row(session, mailbox)
        if row.healthy:
            row.problem_since = now
        row.healthy, row.problem = False, problem[:2000]
        row.updated_at = now


def spooled(
    sessions: sessionmaker[Session],
    *,
    message_ids: Sequence[str] = (),
    digests: Sequence[str] = (),
) -> set[str]:
    """Which of these Message-IDs and sha256 digests the spool already holds (from any source),
    for `imap check` and the backlog import."""
    found: set[str] = set()
    with transaction(sessions, write=False) as session:
        for column, values in ((SpoolMessage.message_id, message_ids),
                               (SpoolMessage.sha256, digests)):  # fmt: skip
            for start in range(0, len(values), LOOKUP_CHUNK):
                chunk = list(values[start : start + LOOKUP_CHUNK])
                found.update(session.scalars(select(column).where(column.in_(chunk)).distinct()))
    return found
