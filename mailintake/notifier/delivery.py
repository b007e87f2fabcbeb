"""Delivering the outbox over SMTP: claim a message, send it, record what happened.

Each due message goes through three steps of its own. **Claim**: one committed conditional
UPDATE bumps `attempts` and pushes `next_attempt_at` a lease into the future, so a second daemon
on the same database skips it (its UPDATE matches no row) while no database lock is held during
the slow SMTP exchange. **Send**: one SMTP transaction, the session reused across the run.
**Finish**: one commit marks it `sent` (with `sent_at`), schedules a retry, or marks it `failed`
with the server's reply in `last_error`.

Replies are classified as Mailman's `mta/deliver.py` does: 5xx is permanent except 552 (RFC
5321 4.5.3.1.10), 4xx and broken connections are temporary. A temporary failure is retried with
exponential backoff (`base_delay_seconds` doubling up to `max_delay_seconds`) until the message
is `give_up_after_hours` old, then it fails. When some recipients take the message and others
refuse it, the accepted ones are done: a permanent refusal is noted and dropped, a temporary one
keeps the row pending with its recipients narrowed to those still to do (the same bytes go to
them later, so nobody gets it twice). When no session can be had at all (server down, TLS or
login refused) the message is kept for a retry, the run stops instead of trying every message
against a dead server, and the outage is logged once when it starts and once when it ends.

**At least once.** A message is marked sent only after the server accepted it. If the daemon
dies between the server's 250 and that commit — or the connection breaks while the server is
taking the DATA — the row is still pending when its lease ends, and it is sent again with the
SAME Message-ID (it is part of the stored bytes), so receivers, their duplicate filters and
our own threading can recognise the second copy. A message is never lost, and never sent twice
once it has been marked sent.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from mailintake.logs import log
from mailintake.notifier.settings import DeliverySettings
from mailintake.notifier.transport import (
    Attempt,
    ConnectionLost,
    ServerUnavailable,
    SmtpTransport,
    tls_context,
)
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage, OutboxState

if TYPE_CHECKING:
    from mailintake.config import OutboundSettings

logger = logging.getLogger("mailintake.notify")


@dataclass
class DeliveryReport:
    """What one run did, by outbox id."""

    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # Claimed by another daemon between our listing and our claim.
    skipped: int = 0
    server_down: bool = False


@dataclass(frozen=True)
class Claim:
    """A message this run holds the lease on; `attempts` counts this one."""

    id: int
    ticket_id: int | None
    purpose: str
    message_id: str
    recipients: tuple[str, ...]
    raw: bytes
    attempts: int
    created_at: datetime


class Outage:
    """Remembers that the outbound server is down, so an outage is logged once, not per try.

    The daemon keeps one for its lifetime and passes it to every run.
    """

    def __init__(self) -> None:
        self.since: datetime | None = None
        self.tries = 0

    def down(self, server: str, error: str, at: datetime) -> None:
        self.tries += 1
        if self.since is None:
            self.since = at
            log(logger, "outbound_unreachable", logging.WARNING, server=server, error=error)

    def up(self, server: str, at: datetime) -> None:
        if self.since is not None:
            down_for = round((at - self.since).total_seconds())
            log(
                logger,
                "outbound_reachable_again",
                server=server,
                down_seconds=down_for,
                failed_tries=self.tries,
            )
        self.since, self.tries = None, 0


def retry_delay(attempts: int, settings: DeliverySettings) -> timedelta:
    """Wait after the `attempts`-th failed try: base, 2 x base, 4 x base, … up to the max."""
    exponent = min(max(attempts - 1, 0), 32)
    seconds = min(settings.base_delay_seconds * 2**exponent, settings.max_delay_seconds)
    return timedelta(seconds=seconds)


def due_ids(sessions: sessionmaker[Session], now: datetime, limit: int) -> list[int]:
    with transaction(sessions, write=False) as session:
        query = (
            select(OutboxMessage.id)
            .where(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        return list(session.scalars(query))


def claim(
    sessions: sessionmaker[Session], outbox_id: int, now: datetime, lease: timedelta
) -> Claim | None:
    """Take the lease on a due message; None if another daemon has it or it is done."""
    with transaction(sessions) as session:
        taken = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == outbox_id,
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.next_attempt_at <= now,
            )
            .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + lease)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # type: ignore[attr-defined]
            return None
        row = session.execute(
            select(
                OutboxMessage.ticket_id,
                OutboxMessage.purpose,
                OutboxMessage.message_id,
                OutboxMessage.recipients,
                OutboxMessage.raw,
                OutboxMessage.attempts,
                OutboxMessage.created_at,
            ).where(OutboxMessage.id == outbox_id)
        ).one()
        return Claim(
            id=outbox_id,
            ticket_id=row.ticket_id,
            purpose=row.purpose,
            message_id=row.message_id,
            recipients=tuple(row.recipients),
            raw=row.raw,
            attempts=row.attempts,
            created_at=row.created_at,
        )


def deliver_due(
    sessions: sessionmaker[Session],
    outbound: OutboundSettings,
    settings: DeliverySettings,
    now: datetime,
    *,
    outage: Outage | None = None,
    transport: SmtpTransport | None = None,
) -> DeliveryReport:
    """Send every message due at `now` (up to `batch_size`); safe to run on several daemons.

    Times written to the database are `now` plus the time this run has taken so far, so a
    caller that passes a made-up `now` (tests) gets consistent times without sleeping.
    """
    outage = outage or Outage()
    report = DeliveryReport()
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    candidates = due_ids(sessions, now, settings.batch_size)
    if not candidates:
        return report
    server = f"{outbound.host}:{outbound.port}"
    own = transport is None
    transport = transport or SmtpTransport(
        outbound,
        timeout=settings.timeout_seconds,
        ssl_context=tls_context(settings.tls_ca_file) if outbound.security != "none" else None,
    )
    lease = timedelta(seconds=settings.lease_seconds)
    try:
        for outbox_id in candidates:
            claimed = claim(sessions, outbox_id, clock(), lease)
            if claimed is None:
                report.skipped += 1
                continue
            try:
                attempt = transport.send(outbound.from_address, claimed.recipients, claimed.raw)
            except ServerUnavailable as error:
                outage.down(server, str(error), clock())
                report.server_down = True
                _retry_or_fail(sessions, claimed, settings, clock(), str(error), report)
                # The rest stay due and untouched: one try per run while the server is down.
                break
            except ConnectionLost as error:
                outage.up(server, clock())
                _retry_or_fail(sessions, claimed, settings, clock(), str(error), report)
                continue
            outage.up(server, clock())
            _finish(sessions, claimed, attempt, settings, clock(), report)
    finally:
        if own:
            transport.close()
    return report


def _finish(
    sessions: sessionmaker[Session],
    claimed: Claim,
    attempt: Attempt,
    settings: DeliverySettings,
    at: datetime,
    report: DeliveryReport,
) -> None:
    if attempt.rejected is not None:
        if attempt.rejected.permanent:
            _fail(sessions, claimed, at, str(attempt.rejected), report)
        else:
            _retry_or_fail(sessions, claimed, settings, at, str(attempt.rejected), report)
        return
    refusals = "; ".join(f"{address}: {reply}" for address, reply in attempt.refused.items())
    later = tuple(a for a, reply in attempt.refused.items() if not reply.permanent)
    if later:
        _retry_or_fail(sessions, claimed, settings, at, refusals, report, recipients=later)
    elif attempt.accepted:
        _mark_sent(sessions, claimed, at, refusals or None, report)
    else:
        _fail(sessions, claimed, at, refusals, report)


def _mark_sent(
    sessions: sessionmaker[Session],
    claimed: Claim,
    at: datetime,
    note: str | None,
    report: DeliveryReport,
) -> None:
    with transaction(sessions) as session:
        # Not conditional on the lease: the server has the message, whoever holds the row now.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.state == OutboxState.PENDING)
            .values(state=OutboxState.SENT, sent_at=at, last_error=note)
            .execution_options(synchronize_session=False)
        )
    report.sent.append(claimed.id)
    _log(claimed, "sent", logging.INFO, refused=note)


def _retry_or_fail(
    sessions: sessionmaker[Session],
    claimed: Claim,
    settings: DeliverySettings,
    at: datetime,
    error: str,
    report: DeliveryReport,
    *,
    recipients: tuple[str, ...] | None = None,
) -> None:
    if at - claimed.created_at >= timedelta(hours=settings.give_up_after_hours):
        hours = f"{settings.give_up_after_hours:g}"
        _fail(sessions, claimed, at, f"gave up after {hours} h of retries; last: {error}", report)
        return
    retry_at = at + retry_delay(claimed.attempts, settings)
    values: dict[str, object] = {"next_attempt_at": retry_at, "last_error": error}
    if recipients is not None:
        values["recipients"] = list(recipients)
    _update_owned(sessions, claimed, values)
    report.retrying.append(claimed.id)
    _log(claimed, "delivery_deferred", logging.INFO, error=error, retry_at=retry_at.isoformat())


def _fail(
    sessions: sessionmaker[Session],
    claimed: Claim,
    at: datetime,
    error: str,
    report: DeliveryReport,
) -> None:
    _update_owned(sessions, claimed, {"state": OutboxState.FAILED, "last_error": error})
    report.failed.append(claimed.id)
    _log(claimed, "delivery_failed", logging.WARNING, error=error)


def _update_owned(
    sessions: sessionmaker[Session], claimed: Claim, values: dict[str, object]
) -> None:
    # Only while our lease holds: if it ran out and another daemon claimed the row again
    # (attempts moved on), that daemon's outcome is the one to keep.
    with transaction(sessions) as session:
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == claimed.id,
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.attempts == claimed.attempts,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def _log(claimed: Claim, event: str, level: int, **fields: object) -> None:
    log(
        logger,
        event,
        level,
        outbox_id=claimed.id,
        message_id=claimed.message_id,
        ticket_id=claimed.ticket_id,
        purpose=claimed.purpose,
        recipients=",".join(claimed.recipients),
        attempts=claimed.attempts,
        **fields,
    )
