"""Time registration and the monthly hours report, as the seed bills them.

Work is billed in units of 15 minutes, always rounded up, per ticket per month. A configuration
change under a plan is included up to 15 minutes each, and at most an hour per customer per
month (the SLA's table: "max 15 min per keer, max. 1 uur per maand"); what is left is billable.
Time is kept as `time_logged` events, so every minute says who logged it, when and in which mail.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailintake.storage.models import Event, Ticket

UNIT_MINUTES = 15
CHANGE_INCLUDED_MINUTES = 15
CHANGES_INCLUDED_PER_MONTH = 60
NO_PLAN = (None, "", "none")


@dataclass(frozen=True)
class HoursLine:
    ref: str
    customer: str | None
    plan: str | None
    kind: str | None
    subject: str
    minutes: int
    units: int
    included_minutes: int
    billable_units: int


def units(minutes: int) -> int:
    return math.ceil(minutes / UNIT_MINUTES) if minutes > 0 else 0


def month_bounds(month: str, zone: tzinfo) -> tuple[datetime, datetime]:
    """The first moment of `month` ("2026-11") and of the next, in the desk's zone."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise ValueError(f"--month {month!r}: write the month as YYYY-MM, e.g. 2026-11") from None
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(following, time(0), tzinfo=zone),
    )


def hours_report(
    session: Session, month: str, zone: tzinfo, customer: str | None = None
) -> list[HoursLine]:
    start, end = month_bounds(month, zone)
    rows = session.execute(
        select(Ticket, Event.data)
        .join(Event, Event.ticket_id == Ticket.id)
        .where(Event.type == "time_logged", Event.at >= start, Event.at < end)
        .order_by(Ticket.id, Event.id)
    ).all()
    spent: dict[int, int] = defaultdict(int)
    tickets: dict[int, Ticket] = {}
    for ticket, data in rows:
        if customer is not None and (ticket.customer or "").casefold() != customer.casefold():
            continue
        tickets[ticket.id] = ticket
        spent[ticket.id] += int(data.get("minutes", 0))
    included_left: dict[str | None, int] = defaultdict(lambda: CHANGES_INCLUDED_PER_MONTH)
    lines = []
    for ticket_id, ticket in tickets.items():
        minutes = spent[ticket_id]
        included = 0
        if ticket.kind == "change" and ticket.plan not in NO_PLAN:
            included = min(minutes, CHANGE_INCLUDED_MINUTES, included_left[ticket.customer])
            included_left[ticket.customer] -= included
        lines.append(
            HoursLine(
                ref=ticket.ref, customer=ticket.customer, plan=ticket.plan, kind=ticket.kind,
                subject=ticket.subject, minutes=minutes, units=units(minutes),
                included_minutes=included, billable_units=units(minutes - included),
            )
        )  # fmt: skip
    return lines


def as_csv(lines: list[HoursLine]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(HoursLine.__dataclass_fields__))
    writer.writeheader()
    for line in lines:
        writer.writerow(asdict(line))
    return out.getvalue()
