"""Planned maintenance: announce it, tell the customers it touches in time, cancel it.

An announcement is a small TOML file with everything the SLA says a notice must state
(contact person, time frame, expected actual duration, services affected, reason). It is
checked (all required, in the future, ends after it starts, the expected duration fits) and
stored; the notice goes to the contacts of every customer that takes an affected service at
`[maintenance] notice_days` before the start, a reminder at `reminder_hours` before, and a
cancellation to the same people if it was announced. The scheduler job that sends what is due
claims each mailing with a conditional update, so two daemons never send it twice.

While a maintenance is under way, `under_way` finds it for a customer's report about an
affected service, and the acknowledgement names it.
"""

from __future__ import annotations

import logging
import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailintake.classifiers import Customer, CustomerBook
from mailintake.config import MaintenanceSettings, describe_error
from mailintake.durations import parse_duration
from mailintake.intake.desk import Desk
from mailintake.logs import log
from mailintake.notifier import (
    Contact,
    Mailbox,
    MailContext,
    MaintenanceCancelledContext,
    MaintenanceNoticeContext,
    MaintenanceUnderWay,
    Purpose,
    enqueue,
)
from mailintake.notifier.compose import compose
from mailintake.sections import Section
from mailintake.sla.windows import parse_window
from mailintake.storage.database import transaction
from mailintake.storage.models import Maintenance

logger = logging.getLogger("mailintake.maintenance")

EXAMPLE = "docs/maintenance.example.toml"


class AnnouncementError(ValueError):
    """An announcement file that cannot be used; the message names the file, key and fix."""


class ContactPerson(Section):
    name: str = Field(min_length=1)
    phone: str | None = None
    email: str | None = None


class Announcement(Section):
    """The announcement file: what the notice must state (seed: SLA VoIP, planned maintenance)."""

    contact: ContactPerson
    start: datetime
    end: datetime
    expected_duration: str = Field(description='the expected actual duration, e.g. "1h30m"')
    services: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)

    @field_validator("expected_duration")
    @classmethod
    def _duration(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        return [service.strip().lower() for service in value if service.strip()]


@dataclass(frozen=True)
class Plan:
    """A checked announcement, in aware times, with the warnings an admin should see."""

    announcement: Announcement
    start: datetime
    end: datetime
    expected: timedelta
    warnings: tuple[str, ...]


def read_announcement(path: Path, zone: tzinfo) -> Announcement:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AnnouncementError(f"{path}: cannot be read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise AnnouncementError(f"{path}: not valid TOML: {error}") from None
    try:
        announcement = Announcement.model_validate(data)
    except ValidationError as error:
        lines = [f"{path}: {len(error.errors())} problem(s):"]
        lines += [f"  {describe_error(item, EXAMPLE)}" for item in error.errors()]
        raise AnnouncementError("\n".join(lines)) from None
    # A time without an offset is the desk's local time, as the admin wrote it.
    return announcement.model_copy(
        update={
            "start": local(announcement.start, zone),
            "end": local(announcement.end, zone),
        }
    )


def local(at: datetime, zone: tzinfo) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=zone)


def check(
    announcement: Announcement, settings: MaintenanceSettings, zone: tzinfo, now: datetime
) -> Plan:
    """Refuse what cannot be announced; warn about what is allowed but unusual."""
    start, end = announcement.start, announcement.end
    expected = parse_duration(announcement.expected_duration)
    if start <= now:
        raise AnnouncementError(f"start {start.isoformat()} is not in the future")
    if end <= start:
        raise AnnouncementError(f"end {end.isoformat()} is not after start {start.isoformat()}")
    if expected > end - start:
        raise AnnouncementError(
            f"expected_duration {announcement.expected_duration} does not fit in the time "
            f"frame of {end - start}; make the frame longer or the duration shorter"
        )
    warnings = []
    window = parse_window(settings.window)
    if not within_window(start, end, window.start, window.end, zone):
        warnings.append(
            f"the work falls outside the maintenance window {settings.window} "
            f"({start.astimezone(zone):%a %d %b %H:%M} - {end.astimezone(zone):%H:%M})"
        )
    return Plan(announcement, start, end, expected, tuple(warnings))


def within_window(start: datetime, end: datetime, first: int, last: int, zone: tzinfo) -> bool:
    """Whether [start, end] lies inside one day's window of minutes [first, last], locally."""
    a, b = start.astimezone(zone), end.astimezone(zone)
    day_start = datetime.combine(a.date(), time(0), tzinfo=zone)
    return (
        day_start + timedelta(minutes=first) <= a
        and b <= day_start + timedelta(minutes=last)
        and a.date() == (b - timedelta(microseconds=1)).date()
    )


def next_reference(session: Session, year: int) -> str:
    prefix = f"M-{year}-"
    count = session.scalar(
        select(func.count())
        .select_from(Maintenance)
        .where(Maintenance.reference.like(prefix + "%"))
    )
    return f"{prefix}{(count or 0) + 1:04d}"


def announce(
    sessions: sessionmaker[Session], plan: Plan, settings: MaintenanceSettings, now: datetime
) -> Maintenance:
    notice_at = max(now, plan.start - timedelta(days=settings.notice_days))
    reminder_at = (
        plan.start - timedelta(hours=settings.reminder_hours) if settings.reminder_hours else None
    )
    if reminder_at is not None and reminder_at <= notice_at:
        reminder_at = None  # the notice itself comes late enough
    a = plan.announcement
    with transaction(sessions) as session:
        row = Maintenance(
            reference=next_reference(session, plan.start.year),
            contact=a.contact.model_dump(),
            starts_at=plan.start,
            ends_at=plan.end,
            expected_minutes=int(plan.expected.total_seconds() // 60),
            services=list(a.services),
            reason=a.reason,
            state="planned",
            notice_at=notice_at,
            reminder_at=reminder_at,
            notified=[],
            created_at=now,
        )
        session.add(row)
    log(logger, "announced", reference=row.reference, start=plan.start.isoformat(),
        services=",".join(a.services), notice_at=notice_at.isoformat())  # fmt: skip
    return row


def audience(customers: CustomerBook, services: list[str]) -> list[tuple[Customer, list[str]]]:
    """Customers that take an affected service, with the addresses to tell."""
    wanted = {service.lower() for service in services}
    found = []
    for customer in customers.customers:
        if wanted & {service.lower() for service in customer.services}:
            addresses = [c.email for c in customer.contacts] or list(customer.addresses)
            if addresses:
                found.append((customer, addresses))
    return found


def facts(row: Maintenance) -> dict[str, Any]:
    contact = row.contact
    return {
        "reference": row.reference,
        "contact": Contact(
            name=contact["name"], phone=contact.get("phone"), email=contact.get("email")
        ),
        "start": row.starts_at,
        "end": row.ends_at,
        "expected_duration": timedelta(minutes=row.expected_minutes),
        "services": tuple(row.services),
        "reason": row.reason,
    }


def mail_customers(
    session: Session,
    desk: Desk,
    row: Maintenance,
    purpose: Purpose,
    recipients: list[dict[str, Any]],
    now: datetime,
    **extra: Any,
) -> int:
    mailer = desk.mailer
    for entry in recipients:
        context: MailContext
        if purpose is Purpose.MAINTENANCE_CANCELLED:
            context = MaintenanceCancelledContext(desk=mailer.letterhead,
                                                  customer=entry["customer"], **facts(row),
                                                  **extra)  # fmt: skip
        else:
            context = MaintenanceNoticeContext(desk=mailer.letterhead, customer=entry["customer"],
                                               **facts(row), **extra)  # fmt: skip
        rendered = mailer.templates.render(context, entry["language"])
        message = compose(rendered, purpose=purpose, sender=mailer.sender,
                          to=[Mailbox(a) for a in entry["addresses"]], now=now,
                          ref=row.reference, zone=desk.zone, secret=desk.secret)  # fmt: skip
        enqueue(session, ticket_id=None, event_id=None, purpose=purpose, message=message, now=now)
    return len(recipients)


def send_due(sessions: sessionmaker[Session], desk: Desk, now: datetime) -> list[str]:
    """Queue the notices and reminders that are due; what the scheduler job calls."""
    done = []
    with transaction(sessions, write=False) as session:
        due = session.execute(
            select(Maintenance.id, Maintenance.notice_sent_at).where(
                Maintenance.state == "planned",
                Maintenance.starts_at > now,
                (
                    (Maintenance.notice_sent_at.is_(None) & (Maintenance.notice_at <= now))
                    | (
                        Maintenance.reminder_sent_at.is_(None)
                        & Maintenance.notice_sent_at.is_not(None)
                        & (Maintenance.reminder_at <= now)
                    )
                ),
            )
        ).all()
    for maintenance_id, notice_sent in due:
        column = "reminder_sent_at" if notice_sent else "notice_sent_at"
        with transaction(sessions) as session:
            # The claim: only the daemon whose update finds the mailing unsent sends it.
            claimed = session.execute(
                update(Maintenance)
                .where(Maintenance.id == maintenance_id, getattr(Maintenance, column).is_(None))
                .values({column: now})
            ).rowcount  # type: ignore[attr-defined]
            if not claimed:
                continue
            row = session.get(Maintenance, maintenance_id)
            assert row is not None
            reminder = column == "reminder_sent_at"
            if reminder:
                recipients = row.notified
            else:
                recipients = [
                    {"customer": c.name, "language": c.language, "addresses": addresses}
                    for c, addresses in audience(desk.customers, row.services)
                ]
                row.notified = recipients
            count = mail_customers(session, desk, row, Purpose.MAINTENANCE_NOTICE, recipients,
                                   now, reminder=reminder)  # fmt: skip
        log(logger, "reminder_queued" if reminder else "notice_queued",
            reference=row.reference, customers=count)  # fmt: skip
        done.append(f"{row.reference} {'reminder' if reminder else 'notice'} to {count}")
    return done


def cancel(
    sessions: sessionmaker[Session], desk: Desk, reference: str, reason: str | None,
    now: datetime,
) -> tuple[Maintenance, int]:  # fmt: skip
    """Cancel; the people who had the notice get a cancellation. Returns the row and how many
    customers are told."""
    with transaction(sessions) as session:
        row = session.scalar(
            select(Maintenance).where(
                (Maintenance.reference == reference.upper())
                | (Maintenance.id == (int(reference) if reference.isdigit() else -1))
            )
        )
        if row is None:
            raise AnnouncementError(f"no planned maintenance {reference}")
        if row.state != "planned":
            raise AnnouncementError(f"{row.reference} is already {row.state}")
        row.state, row.cancelled_at, row.cancel_reason = "cancelled", now, reason
        told = 0
        if row.notice_sent_at is not None:
            told = mail_customers(session, desk, row, Purpose.MAINTENANCE_CANCELLED, row.notified,
                                  now, cancel_reason=reason)  # fmt: skip
    log(logger, "cancelled", reference=row.reference, told=told)
    return row, told


def list_maintenance(sessions: sessionmaker[Session]) -> list[Maintenance]:
    with transaction(sessions, write=False) as session:
        return list(session.scalars(select(Maintenance).order_by(Maintenance.starts_at)))


def mentions(text: str, words: list[str]) -> bool:
    """Whole words, case ignored; "telefo*" matches every word that starts with "telefo"."""
    for word in words:
        stem = re.escape(word.rstrip("*").casefold())
        pattern = rf"\b{stem}\w*" if word.endswith("*") else rf"\b{stem}\b"
        if re.search(pattern, text.casefold()):
            return True
    return False


def under_way(
    session: Session, desk: Desk, customer: Customer | None, text: str, at: datetime
) -> MaintenanceUnderWay | None:
    """The maintenance going on at `at` on a service of `customer` that `text` is about."""
    if customer is None:
        return None
    taken = {service.lower() for service in customer.services}
    rows = session.scalars(
        select(Maintenance).where(
            Maintenance.state == "planned", Maintenance.starts_at <= at, Maintenance.ends_at > at
        )
    )
    for row in rows:
        for service in row.services:
            words = desk.maintenance.service_words.get(service)
            if service in taken and (not words or mentions(text, words)):
                return MaintenanceUnderWay(
                    reference=row.reference, services=tuple(row.services),
                    start=row.starts_at, end=row.ends_at, reason=row.reason,
                )  # fmt: skip
    return None
