"""SLA warnings: once per threshold per clock, caught up after downtime, never when paused.

The job is called with the time as a parameter, as the scheduler calls it every minute.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import parse_config
from mailintake.intake.desk import Desk, build_desk
from mailintake.intake.lifecycle import record_response, start_resolution, wait_for_customer
from mailintake.intake.sla_warnings import Warned, warn_due_clocks
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage
from mailintake.storage.spool import Arrival
from mailintake.storage.tickets import list_tickets

AMS = ZoneInfo("Europe/Amsterdam")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=AMS)  # a Monday


def desk(folder: Path) -> Desk:
    """The desk as one daemon builds it from its config."""
    config = parse_config({"customers": {"path": "customers.toml"}}, folder / "config.toml")
    return build_desk(config)


@pytest.fixture
def worker(sessions: sessionmaker[Session], tmp_path: Path) -> Worker:
    (tmp_path / "customers.toml").write_text(
        '[[customer]]\nname = "Acme BV"\nplan = "premium"\ndomains = ["acme.nl"]\n'
    )
    worker = Worker(sessions, desk(tmp_path))
    raw = (
        b"From: jan@acme.nl\r\nTo: support@example.nl\r\nSubject: Niemand kan bellen\r\n"
        b"Message-ID: <w1@acme.nl>\r\n\r\nNiemand kan bellen, alle toestellen zijn dood.\r\n"
        b"Locatie: Hoofdstraat 12, Utrecht\r\n"
    )
    worker.spool.store(Arrival(raw, "test", received_at=at(11)))
    worker.drain()
    return worker


def warnings_sent(worker: Worker) -> list[tuple[str, list[str]]]:
    with transaction(worker.sessions) as session:
        rows = session.execute(
            select(OutboxMessage.purpose, OutboxMessage.recipients).where(
                OutboxMessage.purpose == "sla_warning"
            )
        )
        return [(purpose, list(recipients)) for purpose, recipients in rows]


def test_each_threshold_is_warned_once(worker: Worker, tmp_path: Path) -> None:
    ref = "T-2026-000001"
    # CAT III premium: 2 h response from Monday 11:00; 75 % at 12:30, breach at 13:00.
    assert warn_due_clocks(worker.sessions, worker.desk, at(12, 29)) == []
    assert warn_due_clocks(worker.sessions, worker.desk, at(12, 31)) == [
        Warned(ref, "response", 0.75)
    ]
    assert warn_due_clocks(worker.sessions, worker.desk, at(12, 45)) == []
    assert warn_due_clocks(worker.sessions, worker.desk, at(13, 1)) == [
        Warned(ref, "response", 1.0)
    ]
    # A second daemon on the same database, with its own setup, sends nothing again.
    assert warn_due_clocks(worker.sessions, desk(tmp_path), at(13, 5)) == []
    assert warnings_sent(worker) == [("sla_warning", ["engineers@example.nl"])] * 2
    with transaction(worker.sessions) as session:
        [ticket] = list_tickets(session)
        events = [e.data for e in ticket.events if e.type == "sla_warning"]
    assert [(e["metric"], e["threshold"]) for e in events] == [("response", 0.75),
                                                              ("response", 1.0)]  # fmt: skip


def test_thresholds_crossed_while_down_are_reported_on_the_next_run(worker: Worker) -> None:
    warned = warn_due_clocks(worker.sessions, worker.desk, at(15))
    assert [(w.metric, w.threshold) for w in warned] == [("response", 0.75), ("response", 1.0)]


def test_a_paused_or_stopped_clock_warns_about_nothing(worker: Worker) -> None:
    with transaction(worker.sessions) as session:
        [ticket] = list_tickets(session)
        # The first response stops the response clock; the resolution clock starts and is
        # paused while the desk waits for the customer.
        record_response(session, ticket, at(11, 30), worker.desk, actor="eng@example.nl")
        start_resolution(session, ticket, at(11, 30), worker.desk, actor="eng@example.nl")
        wait_for_customer(session, ticket, at(11, 45), worker.desk, actor="eng@example.nl")
    assert warn_due_clocks(worker.sessions, worker.desk, at(16)) == []
    assert warnings_sent(worker) == []
