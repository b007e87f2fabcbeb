"""One `[[imap]]` entry of the config: a mailbox the daemon takes mail from.

Checked once, at load, like every other section: `tls = "none"` only towards a loopback host
(it would send the password in clear), exactly one of `password`, `password_file` and
`password_env`, and an `after_store` action the poller knows. The password itself is read when
a poller or `mailintake imap check` logs in, so a rotated file or variable is picked up without
a restart, and a file that went missing marks that one mailbox unhealthy instead of stopping
the daemon.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from mailintake.sections import Section

DEFAULT_PORTS = {"imaps": 993, "starttls": 143, "none": 143}
# RFC 2177: a client should re-issue IDLE at least every 29 minutes, or the server may log it out.
IDLE_RENEW_MAX_SECONDS = 29 * 60


class PasswordUnavailable(Exception):
    """The password cannot be read; the message names the key and what to do."""


@dataclass(frozen=True)
class AfterStore:
    """What is done with a message on the server once the spool has it."""

    action: Literal["seen", "move", "delete"]
    folder: str | None = None

    def __str__(self) -> str:
        return f"move:{self.folder}" if self.action == "move" else self.action


def parse_after_store(value: str) -> AfterStore:
    text = value.strip()
    if text in ("seen", "delete"):
        return AfterStore(text)  # type: ignore[arg-type]
    if text.startswith("move:") and text[len("move:") :].strip():
        return AfterStore("move", text[len("move:") :].strip())
    raise ValueError(
        f"{value!r} is not an action; write 'seen' (flag it read), 'move:FOLDER' "
        "(e.g. 'move:Processed', a folder that exists) or 'delete'"
    )


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ImapSettings(Section):
    name: str | None = Field(None, description="label in logs and `imap check`; default user@host")
    host: str = Field(min_length=1)
    port: int = Field(993, ge=1, le=65535, description="default 993 for imaps, 143 otherwise")
    tls: Literal["imaps", "starttls", "none"] = "imaps"
    ca_file: Path | None = Field(
        None, description="PEM file of the CA (or self-signed certificate) to trust instead"
    )
    username: str = Field(min_length=1)
    password: SecretStr | None = None
    password_file: Path | None = Field(None, description="its first line is the password")
    # validate_default: the check that exactly one password source is given runs here.
    password_env: str | None = Field(
        None, validate_default=True, description="environment variable holding it"
    )
    folder: str = Field("INBOX", min_length=1)
    after_store: str = Field("seen", description="seen, move:FOLDER or delete")
    take_existing: bool = Field(
        True, description="on first contact take what is already in the folder; false: only new"
    )
    idle: bool = Field(True, description="use IDLE when the server offers it; false: poll")
    # With IDLE too, as a safety net: a server may miss telling of mail that arrived just as
    # IDLE began (Dovecot on Maildir, within the same second).
    poll_seconds: float = Field(60.0, gt=0, description="how often to look, with IDLE or not")
    batch_size: int = Field(100, ge=1, le=1000, description="messages per fetch and commit")
    timeout_seconds: float = Field(60.0, gt=0, description="for connecting and each reply")
    reconnect_max_seconds: float = Field(60.0, gt=0, description="cap of the backoff")

    @model_validator(mode="before")
    @classmethod
    def _port_follows_tls(cls, data: Any) -> Any:
        if isinstance(data, dict) and "port" not in data:
            tls = data.get("tls", "imaps")
            if tls in DEFAULT_PORTS:
                return {**data, "port": DEFAULT_PORTS[tls]}
        return data

    # Cross-key checks are field validators on the later key (pydantic gives them the earlier
    # ones), so an error names that key and shows its value, never the entry with its password.

    @field_validator("tls")
    @classmethod
    def _clear_text_only_to_loopback(cls, value: str, info: ValidationInfo) -> str:
        host = info.data.get("host")
        if value == "none" and host is not None and not is_loopback(host):
            raise ValueError(
                f'"none" would send the password in clear to {host!r}; it is allowed only for a '
                'loopback host (127.0.0.1, ::1, localhost): use tls = "imaps" or "starttls"'
            )
        return value

    @field_validator("password")
    @classmethod
    def _not_empty(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value():
            raise ValueError("the password is empty: write it, or use password_file")
        return value

    @field_validator("password_env")
    @classmethod
    def _one_password(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and (not value or "=" in value or value.startswith("$")):
            raise ValueError(
                "give the name of an environment variable, e.g. 'MAILINTAKE_IMAP_PASSWORD'"
            )
        given = [key for key in ("password", "password_file") if info.data.get(key) is not None]
        if "password" not in info.data:  # the password itself was refused: said already
            return value
        if value is not None:
            given.append("password_env")
        if len(given) != 1:
            which = " and ".join(given) if given else "none of them"
            raise ValueError(
                f"give exactly one of password, password_file or password_env (got {which}); "
                "password_file or password_env keep the secret out of this file"
            )
        return value

    @field_validator("after_store")
    @classmethod
    def _known_action(cls, value: str, info: ValidationInfo) -> str:
        action = parse_after_store(value)
        if action.action == "move" and action.folder == info.data.get("folder"):
            raise ValueError(
                f"{value!r} moves into the folder it reads, so every message would be taken "
                "again and again: move to another folder"
            )
        return str(action)

    @property
    def action(self) -> AfterStore:
        return parse_after_store(self.after_store)

    @property
    def key(self) -> str:
        """Who and where, as the checkpoint and the spool's source name it; not the label, so
        renaming an entry keeps its checkpoint."""
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    @property
    def label(self) -> str:
        return self.name or f"{self.username}@{self.host}/{self.folder}"

    def read_password(self, base_dir: Path) -> str:
        if self.password is not None:
            return self.password.get_secret_value()
        if self.password_env is not None:
            value = os.environ.get(self.password_env)
            if not value:
                raise PasswordUnavailable(
                    f"password_env names {self.password_env!r}, which is not set or empty in "
                    "the daemon's environment: set it, or use password_file"
                )
            return value
        assert self.password_file is not None
        path = _resolve(self.password_file, base_dir)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise PasswordUnavailable(
                f"password_file {str(path)!r} cannot be read ({reason}): create it with the "
                "password on its first line, readable by the daemon only (mode 0600)"
            ) from None
        if not lines or not lines[0].strip():
            raise PasswordUnavailable(
                f"password_file {str(path)!r} is empty: put the password on its first line"
            )
        return lines[0]

    def ca_path(self, base_dir: Path) -> Path | None:
        return None if self.ca_file is None else _resolve(self.ca_file, base_dir)


def _resolve(path: Path, base_dir: Path) -> Path:
    """Relative paths are taken from the config file's folder, as everywhere in the config."""
    return path if path.is_absolute() else base_dir / path
