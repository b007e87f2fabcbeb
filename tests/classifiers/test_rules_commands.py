"""`mailintake rules check` and `rules test`, as an admin uses them before a reload."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.servers import run_cli

STORING = (
    b"From: Jan <jan@acme.nl>\r\nTo: support@example.nl\r\nSubject: Telefoon receptie dood\r\n"
    b"Message-ID: <r1@acme.nl>\r\nDate: Mon, 23 Nov 2026 16:00:00 +0100\r\n\r\n"
    b"Het toestel bij de receptie geeft geen kiestoon.\r\nLocatie: Hoofdstraat 12, Utrecht\r\n"
)


def config(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(extra)
    return path


def test_check_passes_the_built_in_rules(tmp_path: Path) -> None:
    result = run_cli(config(tmp_path), "rules", "check")
    assert result.returncode == 0
    assert b"default_rules.toml: OK" in result.stdout


def test_check_names_file_line_and_fix_and_exits_1(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        'version = 1\n\n[[rule]]\nname = "x"\nwhen = { subjekt = { contains = "storing" } }\n'
        'then = { kind = "incident" }\n'
    )
    result = run_cli(config(tmp_path), "rules", "check", str(rules))
    assert result.returncode == 1
    out = result.stdout.decode()
    assert f"{rules}:5:" in out
    assert "unknown condition key 'subjekt'" in out and "did you mean 'subject'?" in out


def test_check_reports_toml_syntax_with_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('version = 1\n[[rule]\nname = "x"\n')
    result = run_cli(config(tmp_path), "rules", "check", str(rules))
    assert result.returncode == 1
    assert f"{rules}:2: TOML syntax".encode() in result.stdout


def test_check_finds_a_customer_the_rules_name_but_the_file_lacks(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        'version = 1\n\n[[rule]]\nname = "x"\nwhen = { from_domain = { equals = "a.nl" } }\n'
        'then = { customer = "Nobody BV" }\n'
    )
    result = run_cli(config(tmp_path), "rules", "check", str(rules))
    assert result.returncode == 1
    assert b"Nobody BV" in result.stdout


def test_test_explains_the_classification(tmp_path: Path) -> None:
    message = tmp_path / "storing.eml"
    message.write_bytes(STORING)
    (tmp_path / "customers.toml").write_text(
        '[[customer]]\nname = "Acme BV"\nplan = "premium"\ndomains = ["acme.nl"]\n'
    )
    cfg = config(tmp_path, '[customers]\npath = "customers.toml"\n')
    text = run_cli(cfg, "rules", "test", str(message), check=True).stdout.decode()
    assert "category:    CAT II" in text and 'rule "cat2-crucial-place"' in text
    assert "Acme BV" in text
    data = json.loads(run_cli(cfg, "rules", "test", str(message), "--json", check=True).stdout)
    assert (data["kind"], data["category"], data["customer"]) == ("incident", "CAT II", "Acme BV")
    assert data["arrival"] == "2026-11-23T15:00:00+00:00"
    assert any(rule["hit"] and rule["rule"] == "cat2-crucial-place" for rule in data["rules"])
