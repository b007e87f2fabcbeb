"""`tickets list` in the desk's working order and `sla explain`, on tickets with known times."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailintake.config import load_config
from mailintake.intake.desk import build_desk
from mailintake.intake.worker import Worker
from mailintake.storage.database import make_engine, make_sessionmaker, migrate
from mailintake.storage.spool import Arrival
from tests.support.servers import run_cli

AMS = ZoneInfo("Europe/Amsterdam")
LOCATION = "\r\nLocatie: Hoofdstraat 12, Utrecht"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "customers.toml").write_text(
        '[[customer]]\nname = "Acme BV"\nplan = "premium"\ndomains = ["acme.nl"]\n'
    )
    path = tmp_path / "config.toml"
    path.write_text('[customers]\npath = "customers.toml"\n')
    engine = make_engine(load_config(path).database_url)
    migrate(engine)
    worker = Worker(make_sessionmaker(engine), build_desk(load_config(path)))
    reports = [
        ("a", "Toestel van Karin geeft geen kiestoon", datetime(2026, 11, 23, 9, 0)),
        ("b", "Receptie onbereikbaar, toestel receptie dood", datetime(2026, 11, 23, 10, 0)),
        ("c", "Niemand kan bellen, alle toestellen zijn dood", datetime(2026, 11, 23, 11, 0)),
        ("d", "Toestel van Piet geeft geen kiestoon", datetime(2026, 11, 23, 12, 0)),
    ]
    for mid, text, at in reports:
        raw = (
            f"From: jan@acme.nl\r\nTo: support@example.nl\r\nSubject: {text}\r\n"
            f"Message-ID: <{mid}@acme.nl>\r\n\r\n{text}.{LOCATION}\r\n"
        ).encode()
        worker.spool.store(Arrival(raw, "test", received_at=at.replace(tzinfo=AMS)))
    assert worker.drain().created == 4
    engine.dispose()
    return path


def test_tickets_list_puts_the_nearest_deadline_first(config: Path) -> None:
    views = json.loads(run_cli(config, "tickets", "list", "--json", check=True).stdout)
    order = [(v["category"], v["next_due"]) for v in views]
    # CAT III 2 h from 11:00 → 13:00; CAT II 4 h from 10:00 → 14:00; CAT I 8 h from 09:00 and
    # 12:00 → 17:00 and Tuesday 11:00.
    assert order == [
        ("CAT III", "2026-11-23T13:00:00+01:00"),
        ("CAT II", "2026-11-23T14:00:00+01:00"),
        ("CAT I", "2026-11-23T17:00:00+01:00"),
        ("CAT I", "2026-11-24T11:00:00+01:00"),
    ]
    table = run_cli(config, "tickets", "list", check=True).stdout.decode().splitlines()
    assert table[0].split()[:2] == ["REF", "DUE"]
    assert "2026-11-23 13:00" in table[1] and "CAT III" in table[1]


def test_sla_explain_shows_the_clock_timeline_in_local_time(config: Path) -> None:
    ref = json.loads(run_cli(config, "tickets", "list", "--json", check=True).stdout)[0]["ref"]
    out = run_cli(
        config, "sla", "explain", ref, "--now", "2026-11-23T12:00", check=True
    ).stdout.decode()
    assert "targets CAT III" in out and "office+calamity" in out
    assert "response clock: running, target 2h" in out
    assert "Mon 2026-11-23 11:00 CET  start" in out
    assert "open time used: 1h00m (50% of the target)" in out
    assert "deadline: Mon 2026-11-23 13:00 CET" in out
    assert "resolution clock: not started, target 2h" in out
