"""The daemon's configuration: one TOML file parsed once, at start, into typed objects.

Every key has a default, so `mailintake serve` runs without a file (SQLite, SMTP on
127.0.0.1:2525). A file that names an unknown key, gives a wrong type or misses a required value
stops the program with `ConfigError`, whose message names the file, the key path and the fix;
the CLI prints it and exits 2. `config.example.toml` documents every key.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from mailintake.intake.imap_settings import ImapSettings
from mailintake.intake.trust import TrustSettings
from mailintake.notifier.settings import NotifierSettings
from mailintake.sections import Section
from mailintake.sla.settings import SlaSettings, load_example
from mailintake.sla.windows import parse_window

DEFAULT_PATH = Path("config.toml")
ENV_VAR = "MAILINTAKE_CONFIG"


class ConfigError(Exception):
    """A config file that cannot be used; the message says where and how to fix it."""


class StorageSettings(Section):
    url: str = Field(
        "sqlite:///data/mailintake.db",
        description="SQLAlchemy URL; a relative SQLite path is taken from the config file's folder",
    )


class SmtpAuthSettings(Section):
    required: bool = False
    users_file: Path | None = Field(
        None, description="file with one `username:password` per line (keep it mode 0600)"
    )
    require_tls: bool = True


class SmtpSettings(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(2525, ge=1, le=65535)
    recipients: list[str] = Field(default_factory=lambda: ["support@example.nl"], min_length=1)
    max_message_bytes: int = Field(25 * 1024 * 1024, ge=1024)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_starttls: bool = False
    timeout_seconds: float = Field(300, gt=0)
    auth: SmtpAuthSettings = SmtpAuthSettings()

    @field_validator("recipients")
    @classmethod
    def _lowercase_addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if "@" not in address:
                raise ValueError(f"{address!r} is not an address; write e.g. 'support@example.nl'")
        return [address.lower() for address in value]


class OutboundSettings(Section):
    enabled: bool = Field(True, description="false: mail waits in the outbox, nothing is sent")
    host: str = "127.0.0.1"
    port: int = Field(25, ge=1, le=65535)
    from_address: str = "support@example.nl"
    security: Literal["none", "starttls", "tls"] = "none"
    username: str | None = None
    password: str | None = None


class DeskSettings(Section):
    name: str = "Service desk"
    timezone: str = "Europe/Amsterdam"
    engineers_address: str = "engineers@example.nl"
    calendar: str = Field(
        "office", description="the [sla.calendars] entry that holds the desk's service hours"
    )
    secret_file: Path = Field(
        Path("data/desk.secret"),
        description="signs ticket links in Message-IDs and reply addresses; made when absent",
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone name; write e.g. 'Europe/Amsterdam'"
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RulesSettings(Section):
    path: Path | None = Field(None, description="rules file; none means the built-in rules")
    watch_seconds: float = Field(
        5.0, ge=0, description="how often the daemon looks for an edited rules file; 0: only SIGHUP"
    )


class CustomersSettings(Section):
    path: Path | None = Field(None, description="customers file; none: every sender is unknown")


class PipelineSettings(Section):
    poll_seconds: float = Field(2.0, gt=0, description="how often to look for piped-in mail")


def _default_service_words() -> dict[str, list[str]]:
    return {
        "voip": ["voip", "telefo*", "toestel*", "bellen", "gebeld", "kiestoon", "sip*",
                 "centrale", "phone*", "call*", "dial*", "extension*"],
        "internet": ["internet", "verbinding*", "glasvezel", "wifi", "router*", "modem*",
                     "netwerk*", "connection*", "network*", "fibre", "fiber"],
    }  # fmt: skip


class MaintenanceSettings(Section):
    window: str = Field(
        "00:00-07:00", description="the agreed maintenance window, local time; others warn"
    )
    notice_days: float = Field(5, ge=0, description="notices go out this long before the start")
    reminder_hours: float = Field(24, ge=0, description="a reminder this long before; 0: none")
    # Words that tie a report to a service, so a report during maintenance of that service is
    # answered with the maintenance. A service without words: every report of its customers.
    service_words: dict[str, list[str]] = Field(default_factory=_default_service_words)

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        parse_window(value)
        return value


class Engineer(Section):
    name: str = Field(min_length=1)
    address: str

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if "@" not in value:
            raise ValueError(f"{value!r} is not an address; write e.g. 'eva@example.nl'")
        return value.strip().lower()


class EngineersSettings(Section):
    people: list[Engineer] = Field(default_factory=list)
    trust: TrustSettings = Field(default_factory=lambda: TrustSettings(mode="token"))


class ThreadSettings(Section):
    closed_reply: Literal["reopen", "new"] = Field(
        "reopen", description="a reply to a closed ticket reopens it, or starts a linked one"
    )


class ScheduleSettings(Section):
    delivery_seconds: float = Field(5.0, gt=0, description="how often the outbox is sent")
    sla_warnings_seconds: float = Field(60.0, gt=0, description="how often clocks are checked")
    maintenance_seconds: float = Field(60.0, gt=0, description="how often notices are due")


class LoggingSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["kv", "json"] = "kv"


class Config(Section):
    storage: StorageSettings = StorageSettings()
    smtp: SmtpSettings = SmtpSettings()
    imap: list[ImapSettings] = Field(default_factory=list)
    outbound: OutboundSettings = OutboundSettings()
    desk: DeskSettings = DeskSettings()
    rules: RulesSettings = RulesSettings()
    customers: CustomersSettings = CustomersSettings()
    pipeline: PipelineSettings = PipelineSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    logging: LoggingSettings = LoggingSettings()
    # Without an [sla] section the desk runs on the seed's plans (sla/example.toml); a section
    # in the file replaces them as a whole.
    sla: SlaSettings = Field(default_factory=load_example)
    notifier: NotifierSettings = NotifierSettings()
    maintenance: MaintenanceSettings = MaintenanceSettings()
    engineers: EngineersSettings = EngineersSettings()
    threads: ThreadSettings = ThreadSettings()
    # Where the file was read from; relative paths in it are taken from its folder.
    source: Annotated[Path | None, Field(exclude=True)] = None

    @model_validator(mode="after")
    def _desk_calendar_exists(self) -> Config:
        if self.desk.calendar not in self.sla.calendars:
            known = ", ".join(sorted(self.sla.calendars)) or "(none)"
            raise ValueError(
                f"desk.calendar names {self.desk.calendar!r}, which is not in [sla.calendars] "
                f"(known: {known}); name one of those or add it"
            )
        return self

    @property
    def base_dir(self) -> Path:
        return self.source.parent if self.source else Path.cwd()

    def resolve(self, path: Path) -> Path:
        return path if path.is_absolute() else self.base_dir / path

    @property
    def database_url(self) -> str:
        """The storage URL with a relative SQLite path made absolute."""
        url = self.storage.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/"):
            relative = url[len(prefix) :]
            if relative and relative != ":memory:":
                return prefix + str(self.resolve(Path(relative)))
        return url


def config_path(explicit: str | os.PathLike[str] | None) -> tuple[Path, bool]:
    """The path to read, and whether the user named it (a named file must exist)."""
    if explicit:
        return Path(explicit), True
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]), True
    return DEFAULT_PATH, False


def load_config(explicit: str | os.PathLike[str] | None = None) -> Config:
    path, named = config_path(explicit)
    if not path.exists():
        if named:
            raise ConfigError(
                f"{path}: no such file; create it from config.example.toml or leave out "
                f"--config/{ENV_VAR} to run on the built-in defaults"
            )
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}; fix the syntax there") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot be read: {error}") from None
    return parse_config(data, path)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    try:
        return Config.model_validate({**data, "source": path})
    except ValidationError as error:
        where = path or "config"
        lines = [f"{where}: {len(error.errors())} problem(s):"]
        lines += [f"  {describe_error(item)}" for item in error.errors()]
        raise ConfigError("\n".join(lines)) from None


def key_path(location: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for part in location:
        if isinstance(part, int):
            parts[-1] = f"{parts[-1]}[{part}]" if parts else f"[{part}]"
        else:
            parts.append(part)
    return ".".join(parts) or "(top level)"


def describe_error(item: Any, example: str = "config.example.toml") -> str:
    """One line for one pydantic error: the key, what is wrong, and what to write instead."""
    key = key_path(tuple(item["loc"]))
    kind = item["type"]
    if kind == "extra_forbidden":
        return f"unknown key `{key}`: remove it or correct its spelling (see {example})"
    if kind == "missing":
        return f"`{key}` is required: add it (see {example})"
    got = item.get("input")
    message = item["msg"].removeprefix("Value error, ")
    return f"`{key}`: {message} (got {got!r})"
