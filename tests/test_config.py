"""A bad config stops the program with exit 2 and one message naming the file, key and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailintake.config import Config, ConfigError, load_config
from tests.support.servers import run_cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_means_the_embedded_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAILINTAKE_CONFIG", raising=False)
    config = load_config()
    assert config.smtp.host == "127.0.0.1"
    assert config.smtp.port == 2525
    assert config.database_url == f"sqlite:///{tmp_path}/data/mailintake.db"


def test_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path: Path) -> None:
    path = write(tmp_path, '[storage]\nurl = "sqlite:///db/desk.db"\n')
    assert load_config(path).database_url == f"sqlite:///{tmp_path}/db/desk.db"


def test_example_config_is_valid_and_matches_the_defaults() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    config = load_config(example)
    assert config.smtp.port == 2525
    assert config.storage.url == Config().storage.url


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[smtp]\nprot = 25\n", ["unknown key `smtp.prot`", "correct its spelling"]),
        ('[smtp]\nport = "abc"\n', ["`smtp.port`", "integer", "'abc'"]),
        ("[smtp]\nport = 99999\n", ["`smtp.port`", "less than or equal to 65535"]),
        ('[[imap]]\nhost = "imap.example.nl"\n', ["`imap[0].username` is required", "add it"]),
        ('[desk]\ntimezone = "Europe/Amsterdm"\n', ["`desk.timezone`", "Europe/Amsterdam"]),
        ('[smtp]\nrecipients = ["support"]\n', ["`smtp.recipients`", "not an address"]),
        ("[smtp\nport = 1\n", ["not valid TOML", "line 1"]),
    ],
)
def test_bad_config_names_the_key_and_the_fix(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_cli_exits_2_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, "[smtp]\nprot = 25\n")
    result = run_cli(path, "tickets", "list")
    assert result.returncode == 2
    stderr = result.stderr.decode()
    assert "unknown key `smtp.prot`" in stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 2  # the headline and the one problem


def test_a_named_config_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    result = run_cli(tmp_path / "nope.toml", "tickets", "list")
    assert result.returncode == 2
    assert "no such file" in result.stderr.decode()


def test_the_example_config_carries_the_built_in_sla_section() -> None:
    example = Path(__file__).resolve().parents[1] / "config.example.toml"
    assert load_config(example).sla == Config().sla
    assert load_config(example).notifier == Config().notifier
    assert load_config(example).maintenance == Config().maintenance
    assert load_config(example).engineers == Config().engineers
    assert load_config(example).desk == Config().desk
    assert {"premium", "standard", "none", "sla_a"} <= set(Config().sla.plans)


def test_sla_errors_name_the_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[sla.calendars.office]\nwindows = { mon = ["17:30-08:30"] }\n')
    with pytest.raises(ConfigError, match=r"sla\.calendars\.office\.windows"):
        load_config(path)
