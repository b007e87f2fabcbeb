"""`mailintake maintenance announce | list | cancel` as an admin runs them."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from tests.support.servers import run_cli

ANNOUNCEMENT = """
start = {start}
end = {end}
expected_duration = "1h30m"
services = ["voip"]
reason = "Software-update van de centrale"

[contact]
name = "Petra Jansen"
"""


def setup(tmp_path: Path) -> Path:
    (tmp_path / "customers.toml").write_text(
        '[[customer]]\nname = "Acme BV"\ndomains = ["acme.nl"]\nservices = ["voip"]\n'
        '[[customer.contacts]]\nname = "Anna"\nemail = "anna@acme.nl"\n'
    )
    config = tmp_path / "config.toml"
    config.write_text('[customers]\npath = "customers.toml"\n')
    run_cli(config, "init", check=True)
    return config


def announcement(tmp_path: Path, days: int, hour: int) -> Path:
    day = datetime.now().date() + timedelta(days=days)
    start = datetime(day.year, day.month, day.day, hour)
    path = tmp_path / f"work-{days}-{hour}.toml"
    text = ANNOUNCEMENT.format(
        start=start.isoformat(), end=(start + timedelta(hours=4)).isoformat()
    )
    path.write_text(text)
    return path


def test_announce_list_and_cancel(tmp_path: Path) -> None:
    config = setup(tmp_path)
    night = run_cli(config, "maintenance", "announce", str(announcement(tmp_path, 20, 1)))
    assert night.returncode == 0, night.stderr
    assert b"notice to 1 customer(s)" in night.stdout
    assert b"warning" not in night.stderr
    evening = run_cli(config, "maintenance", "announce", str(announcement(tmp_path, 21, 18)))
    assert evening.returncode == 0
    assert b"warning: the work falls outside the maintenance window" in evening.stderr

    rows = json.loads(run_cli(config, "maintenance", "list", "--json", check=True).stdout)
    assert [(r["reference"][-4:], r["state"], r["services"]) for r in rows] == [
        ("0001", "planned", ["voip"]),
        ("0002", "planned", ["voip"]),
    ]
    done = run_cli(config, "maintenance", "cancel", rows[1]["reference"], "--reason", "uitgesteld")
    assert done.returncode == 0
    assert b"had not been announced to anyone yet" in done.stdout
    again = run_cli(config, "maintenance", "cancel", rows[1]["reference"])
    assert again.returncode == 1 and b"already cancelled" in again.stderr


def test_a_bad_announcement_names_the_keys_and_exits_2(tmp_path: Path) -> None:
    config = setup(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text('start = 2020-01-01T01:00:00\nservices = ["voip"]\n')
    result = run_cli(config, "maintenance", "announce", str(bad))
    assert result.returncode == 2
    assert b"`contact` is required" in result.stderr
    assert b"docs/maintenance.example.toml" in result.stderr
    past = announcement(tmp_path, -2, 1)
    result = run_cli(config, "maintenance", "announce", str(past))
    assert result.returncode == 2 and b"not in the future" in result.stderr
