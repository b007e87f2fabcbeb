"""SLA warnings: tell the engineers when a running clock reaches a threshold of its target.

`warn_due_clocks` is what the scheduler job calls. Each ticket is looked at in its own
transaction; a warning is a row in `sla_warnings` whose unique key (ticket, metric, threshold)
makes a second one impossible, so running the job twice, after a restart or on two daemons on
one database sends each warning once. A threshold crossed while no daemon ran is found on the
next run; a paused or stopped clock warns about nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.lifecycle import clock_changes, terms_for
from mailintake.intake.notices import send
from mailintake.logs import log
from mailintake.notifier import Purpose, SlaWarningContext
from mailintake.sla import Metric, due_warnings
from mailintake.storage.database import transaction
from mailintake.storage.models import SlaWarning, Ticket
from mailintake.storage.tickets import CLOSED_STATES

logger = logging.getLogger("mailintake.sla")

METRICS: tuple[Metric, ...] = ("response", "resolution")


@dataclass(frozen=True)
class Warned:
    ref: str
    metric: str
    threshold: float


def threshold_key(threshold: float) -> str:
    return f"{threshold:.4f}"


def candidates(sessions: sessionmaker[Session]) -> list[int]:
    """Open tickets with a deadline: only they can have a running clock with a target."""
    with transaction(sessions, write=False) as session:
        return list(
            session.scalars(
                select(Ticket.id).where(
                    Ticket.status.not_in(CLOSED_STATES),
                    (Ticket.response_due.is_not(None)) | (Ticket.resolution_due.is_not(None)),
                )
            )
        )


def warn_due_clocks(sessions: sessionmaker[Session], desk: Desk, now: datetime) -> list[Warned]:
    warned: list[Warned] = []
    for ticket_id in candidates(sessions):
        warned += warn_ticket(sessions, desk, ticket_id, now)
    return warned


def warn_ticket(
    sessions: sessionmaker[Session], desk: Desk, ticket_id: int, now: datetime
) -> list[Warned]:
    warned: list[Warned] = []
    with transaction(sessions) as session:
        ticket = session.scalar(
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .options(selectinload(Ticket.events), selectinload(Ticket.messages))
        )
        if ticket is None or ticket.status in CLOSED_STATES:
            return warned
        terms = terms_for(ticket, desk)
        sent = session.execute(
            select(SlaWarning.metric, SlaWarning.threshold).where(SlaWarning.ticket_id == ticket_id)
        ).all()
        for metric in METRICS:
            clock = terms.clock(metric, clock_changes(ticket, metric))
            already = [float(t) for m, t in sent if m == metric]
            for threshold in due_warnings(clock, now, desk.levels.warning_thresholds, already):
                due = clock.deadline()
                assert due is not None  # a running clock with a target has one
                if not claim(session, ticket_id, metric, threshold, now):
                    continue
                context = SlaWarningContext(
                    desk=desk.mailer.letterhead, ref=ticket.ref, subject=ticket.subject,
                    customer=ticket.customer, plan=ticket.plan, category=ticket.category,
                    metric=metric, threshold=threshold, due=due,
                )  # fmt: skip
                send(session, desk, ticket, context, purpose=Purpose.SLA_WARNING,
                     to=desk.mailer.engineers, language=desk.mailer.settings.engineers_language,
                     event_type="sla_warning", at=now, metric=metric,
                     threshold=threshold)  # fmt: skip
                log(logger, "sla_warning", ticket=ticket.ref, metric=metric,
                    threshold=threshold, due=due.isoformat())  # fmt: skip
                warned.append(Warned(ticket.ref, metric, threshold))
    return warned


def claim(session: Session, ticket_id: int, metric: str, threshold: float, now: datetime) -> bool:
    """Take the right to send this warning; False when another daemon already has it."""
    try:
        with session.begin_nested():
            session.add(
                SlaWarning(
                    ticket_id=ticket_id,
                    metric=metric,
                    threshold=threshold_key(threshold),
                    sent_at=now,
                )
            )
    except IntegrityError:
        return False
    return True
