"""`mailintake ingest` tells an MTA what happened in its exit code: 0, 65 or 75."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.support.configs import write_config
from tests.support.servers import run_cli

MAIL = (
    b"From: jan@klant.nl\r\nTo: support@example.nl\r\nSubject: pipe\r\n"
    b"Message-ID: <p@k>\r\n\r\nhoi\r\n"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path, storage={"url": "sqlite:///data/mailintake.db"})
    run_cli(path, "init", check=True)
    return path


def test_stdin_is_stored_exit_0_and_becomes_a_ticket(config: Path) -> None:
    result = run_cli(config, "ingest", input=MAIL)
    assert result.returncode == 0
    assert b"stored as spool id 1" in result.stdout
    assert b"1 new tickets" in run_cli(config, "process", "--once", check=True).stdout
    assert b"pipe" in run_cli(config, "tickets", "list", check=True).stdout


def test_a_file_argument_is_stored(config: Path, tmp_path: Path) -> None:
    mail = tmp_path / "one.eml"
    mail.write_bytes(MAIL)
    assert run_cli(config, "ingest", str(mail)).returncode == 0
    assert b"pipe:" in run_cli(config, "spool", "list", check=True).stdout


@pytest.mark.parametrize("data", [b"", b"\n\n", bytes(range(256)) * 8])
def test_not_a_message_exits_65_and_stores_nothing(config: Path, data: bytes) -> None:
    result = run_cli(config, "ingest", input=data)
    assert result.returncode == 65
    assert b"not stored" in result.stderr
    assert run_cli(config, "spool", "list", "--json", check=True).stdout.strip() == b"[]"


def test_storage_failure_exits_75(config: Path) -> None:
    with sqlite3.connect(config.parent / "data" / "mailintake.db") as db:
        db.execute("CREATE TRIGGER full BEFORE INSERT ON spool "
                   "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END")  # fmt: skip
    result = run_cli(config, "ingest", input=MAIL)
    assert result.returncode == 75
    assert b"temporary failure" in result.stderr


def test_an_unmigrated_database_or_a_bad_config_exits_75_so_the_mta_keeps_the_mail(
    tmp_path: Path,
) -> None:
    fresh = write_config(tmp_path, storage={"url": "sqlite:///data/new.db"})
    result = run_cli(fresh, "ingest", input=MAIL)
    assert result.returncode == 75
    assert b"mailintake init" in result.stderr
    fresh.write_text("[smtp]\nprot = 1\n")
    result = run_cli(fresh, "ingest", input=MAIL)
    assert result.returncode == 75
    assert b"unknown key `smtp.prot`" in result.stderr
