"""`[[imap]]` entries are checked at load: each mistake names the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailintake.config import ConfigError, parse_config
from mailintake.intake.imap_settings import AfterStore, ImapSettings, PasswordUnavailable

BASE = {"host": "imap.example.nl", "username": "support@example.nl", "password": "s3cret"}


def load(**entry: object) -> ImapSettings:
    return parse_config({"imap": [{**BASE, **entry}]}).imap[0]


def problem(**entry: object) -> str:
    with pytest.raises(ConfigError) as raised:
        parse_config({"imap": [{**BASE, **entry}]})
    return str(raised.value)


def test_defaults_are_a_safe_inbox_over_imaps() -> None:
    settings = load()
    assert (settings.port, settings.tls, settings.folder) == (993, "imaps", "INBOX")
    assert settings.action == AfterStore("seen")
    assert settings.key == "support@example.nl@imap.example.nl:993/INBOX"
    assert "s3cret" not in repr(settings)


def test_the_port_follows_tls_unless_given() -> None:
    assert load(tls="starttls").port == 143
    assert load(tls="starttls", port=1143).port == 1143


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_plain_imap_is_allowed_towards_loopback(host: str) -> None:
    assert load(host=host, tls="none").port == 143


def test_plain_imap_to_another_host_is_refused_with_the_fix() -> None:
    message = problem(tls="none")
    assert "`imap[0].tls`" in message
    assert "send the password in clear to 'imap.example.nl'" in message
    assert 'use tls = "imaps" or "starttls"' in message
    assert "s3cret" not in message  # the entry is not shown, only the key's value


@pytest.mark.parametrize(
    ("value", "expected"),
    [("seen", AfterStore("seen")), ("delete", AfterStore("delete")),
     ("move:Verwerkt", AfterStore("move", "Verwerkt")),
     ("move:Support/Done", AfterStore("move", "Support/Done"))],
)  # fmt: skip
def test_after_store_actions(value: str, expected: AfterStore) -> None:
    assert load(after_store=value).action == expected


@pytest.mark.parametrize("value", ["archive", "move:", "Seen", "move"])
def test_an_unknown_after_store_action_names_the_three(value: str) -> None:
    message = problem(after_store=value)
    assert "`imap[0].after_store`" in message
    assert "'seen'" in message and "'move:FOLDER'" in message and "'delete'" in message


def test_moving_into_the_folder_itself_is_refused() -> None:
    message = problem(after_store="move:INBOX")
    assert "move:INBOX" in message and "another folder" in message


def test_exactly_one_password_source() -> None:
    entry = {key: value for key, value in BASE.items() if key != "password"}
    with pytest.raises(ConfigError, match="give exactly one of password, password_file or "
                       "password_env \\(got none of them\\)"):  # fmt: skip
        parse_config({"imap": [entry]})
    both = problem(password_env="IMAP_PASSWORD")
    assert "`imap[0].password_env`" in both and "got password and password_env" in both
    assert "s3cret" not in both
    assert "`imap[0].password`: the password is empty" in problem(password="")


def test_a_missing_username_is_named() -> None:
    with pytest.raises(ConfigError, match=r"`imap\[0\].username` is required"):
        parse_config({"imap": [{"host": "imap.example.nl", "password": "x"}]})


def test_passwords_are_read_at_login_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "imap.pw").write_text("p@ss word\n", encoding="utf-8")
    from_file = load(password=None, password_file="imap.pw")
    assert from_file.read_password(tmp_path) == "p@ss word"
    with pytest.raises(PasswordUnavailable, match=r"cannot be read .*first line"):
        from_file.read_password(tmp_path / "elsewhere")
    from_env = load(password=None, password_env="MAILINTAKE_TEST_IMAP_PW")
    monkeypatch.delenv("MAILINTAKE_TEST_IMAP_PW", raising=False)
    with pytest.raises(PasswordUnavailable, match=r"MAILINTAKE_TEST_IMAP_PW.*not set"):
        from_env.read_password(tmp_path)
    monkeypatch.setenv("MAILINTAKE_TEST_IMAP_PW", "from-env")
    assert from_env.read_password(tmp_path) == "from-env"


def test_several_mailboxes_are_allowed() -> None:
    config = parse_config({"imap": [BASE, {**BASE, "folder": "Storingen", "name": "noc"}]})
    assert [entry.label for entry in config.imap] == [
        "support@example.nl@imap.example.nl/INBOX",
        "noc",
    ]
