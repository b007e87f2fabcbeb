"""The hours report: 15-minute units rounded up; changes under a plan partly included."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.engineers import log_time
from mailintake.intake.hours import as_csv, hours_report, month_bounds, units
from mailintake.storage.database import transaction
from mailintake.storage.models import Ticket

AMS = ZoneInfo("Europe/Amsterdam")


@pytest.mark.parametrize(("minutes", "expected"), [(0, 0), (1, 1), (15, 1), (16, 2), (46, 4)])
def test_units_of_15_minutes_always_rounded_up(minutes: int, expected: int) -> None:
    assert units(minutes) == expected


def test_month_bounds_are_local_and_refuse_nonsense() -> None:
    start, end = month_bounds("2026-12", AMS)
    assert (start.isoformat(), end.isoformat()) == (
        "2026-12-01T00:00:00+01:00",
        "2027-01-01T00:00:00+01:00",
    )
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds("november", AMS)


def test_the_report_per_ticket(sessions: sessionmaker[Session]) -> None:
    nov = datetime(2026, 11, 10, 10, 0, tzinfo=AMS)
    with transaction(sessions) as session:

        def ticket(ref: str, kind: str, plan: str, customer: str) -> Ticket:
            t = Ticket(ref=ref, kind=kind, plan=plan, customer=customer, subject=ref,
                       created_at=nov)  # fmt: skip
            session.add(t)
            return t

        fault = ticket("T-2026-000001", "incident", "premium", "Acme BV")
        log_time(session, fault, timedelta(minutes=20), nov, actor="eva")
        log_time(session, fault, timedelta(minutes=7), nov, actor="eva")
        changes = [ticket(f"T-2026-00001{i}", "change", "premium", "Acme BV") for i in range(5)]
        for change in changes:
            log_time(session, change, timedelta(minutes=20), nov, actor="eva")
        level0 = ticket("T-2026-000020", "change", "none", "Los BV")
        log_time(session, level0, timedelta(minutes=10), nov, actor="eva")
        # Another month: not in November's report.
        log_time(session, fault, timedelta(hours=2), nov + timedelta(days=30), actor="eva")
    with transaction(sessions, write=False) as session:
        lines = {line.ref: line for line in hours_report(session, "2026-11", AMS)}
        acme = hours_report(session, "2026-11", AMS, customer="acme bv")
    assert (lines["T-2026-000001"].minutes, lines["T-2026-000001"].units) == (27, 2)
    assert lines["T-2026-000001"].billable_units == 2
    # Four changes of 20 min each have 15 included (the hour's cap), the fifth none.
    included = [lines[f"T-2026-00001{i}"].included_minutes for i in range(5)]
    assert included == [15, 15, 15, 15, 0]
    assert [lines[f"T-2026-00001{i}"].billable_units for i in range(5)] == [1, 1, 1, 1, 2]
    assert lines["T-2026-000020"].included_minutes == 0  # no plan, nothing included
    assert len(acme) == 6
    text = as_csv(list(lines.values()))
    assert text.splitlines()[0].startswith("ref,customer,plan,kind,subject,minutes,units")
