"""`mailintake sla due` and `sla holidays` as an admin runs them, on the built-in plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.servers import run_cli


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """An empty config file: the built-in defaults, [sla] included."""
    path = tmp_path / "config.toml"
    path.write_text("")
    return path


def test_sla_due_prints_the_seed_example(config: Path) -> None:
    result = run_cli(
        config, "sla", "due", "--plan", "premium", "--kind", "incident",
        "--category", "CAT I", "--start", "2026-11-23T16:00",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "response due:   2026-11-24T15:00:00+01:00"
    assert lines[1] == "resolution due: 2026-11-24T15:00:00+01:00"


def test_sla_due_for_level_0_has_no_deadline_and_an_unknown_plan_is_refused(
    config: Path,
) -> None:
    none = run_cli(config, "sla", "due", "--plan", "none", "--start", "2026-11-23T16:00+01:00")
    assert "response due:   none (no target)" in none.stdout.decode()
    gold = run_cli(config, "sla", "due", "--plan", "gold", "--start", "2026-11-23T16:00")
    assert gold.returncode == 2
    assert "known plans are" in gold.stderr.decode()


def test_sla_holidays_lists_the_year(config: Path) -> None:
    result = run_cli(config, "sla", "holidays", "--year", "2027")
    out = result.stdout.decode()
    assert "2027-04-27 Tue  King's Day" in out
    assert "Good Friday" in out and "open (skipped in config)" in out
