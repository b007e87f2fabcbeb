"""The desk as the pipeline sees it: time zone, SLA terms, rules and customers, ready to use.

Built once from the config at start (`build_desk`); a rules or customers file that cannot be
used stops the start with `DeskSetupError`, naming the file, line and fix. While the daemon runs,
`reload_rules` swaps in an edited rules file only when it is valid: a bad edit is reported and
the previous rules stay active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailintake.classifiers import (
    DEFAULT_RULES_PATH,
    CustomerBook,
    FileProblemsError,
    RuleSet,
    load_customers,
    load_rules,
)
from mailintake.classifiers import reload_rules as reread_rules
from mailintake.config import Config, MaintenanceSettings, ThreadSettings
from mailintake.intake.trust import TrustSettings
from mailintake.notifier import Desk as Letterhead
from mailintake.notifier import Mailbox, Templates
from mailintake.notifier.settings import NotifierSettings
from mailintake.signing import SecretFileError, load_or_create_secret
from mailintake.sla import Calendar, ServiceLevels


class DeskSetupError(Exception):
    """A rules or customers file that cannot be used; the message lists every problem."""


@dataclass(frozen=True)
class Mailer:
    """How the desk writes: templates, who mail is from, who the engineers are."""

    templates: Templates
    settings: NotifierSettings
    letterhead: Letterhead
    sender: Mailbox
    engineers: Mailbox
    # Addresses that are the desk itself: mail from them is never answered automatically.
    our_addresses: frozenset[str]
    # The engineers' shared address: their reply addresses are made for it.
    team: str


@dataclass
class Desk:
    zone: ZoneInfo
    levels: ServiceLevels
    service_calendar: Calendar
    customers: CustomerBook
    mailer: Mailer
    maintenance: MaintenanceSettings
    # Signs ticket links (Message-IDs, reply addresses) so they cannot be forged.
    secret: bytes
    # Engineers by address, with their names; how a mail proves it is theirs; what a reply to a
    # closed ticket does.
    engineers: dict[str, str]
    trust: TrustSettings
    threads: ThreadSettings
    # Replaced as a whole on reload; a worker reads it once per message.
    rules: RuleSet

    def in_service_hours(self, at: datetime) -> bool:
        return self.service_calendar.is_open(at)

    def sla_plan(self, plan: str | None) -> str | None:
        """The plan to ask the SLA room about: None (Level 0) for a plan it does not define."""
        return plan if plan in self.levels.plans else None


def rules_path(config: Config) -> Path:
    return config.resolve(config.rules.path) if config.rules.path else DEFAULT_RULES_PATH


def build_desk(config: Config) -> Desk:
    levels = ServiceLevels.from_settings(config.sla)
    try:
        rules = load_rules(rules_path(config))
        customers = (
            load_customers(config.resolve(config.customers.path), known_plans=known_plans(levels))
            if config.customers.path
            else CustomerBook([], source="(no customers file)")
        )
        secret = load_or_create_secret(config.resolve(config.desk.secret_file))
    except FileProblemsError as error:
        raise DeskSetupError(str(error)) from None
    except SecretFileError as error:
        raise DeskSetupError(f"[desk] secret_file: {error}") from None
    return Desk(
        zone=config.desk.zone,
        levels=levels,
        service_calendar=levels.calendars[config.desk.calendar],
        customers=customers,
        mailer=build_mailer(config),
        maintenance=config.maintenance,
        secret=secret,
        engineers={person.address: person.name for person in config.engineers.people},
        trust=config.engineers.trust,
        threads=config.threads,
        rules=rules,
    )


def build_mailer(config: Config) -> Mailer:
    notifier = config.notifier
    templates_dir = config.resolve(notifier.templates_dir) if notifier.templates_dir else None
    from_address = config.outbound.from_address.lower()
    return Mailer(
        templates=Templates(
            templates_dir, zone=config.desk.zone, default_language=notifier.default_language
        ),
        settings=notifier,
        letterhead=notifier.desk(config.desk, config.outbound),
        sender=Mailbox(from_address, config.desk.name),
        engineers=Mailbox(config.desk.engineers_address.lower(), config.desk.name),
        our_addresses=frozenset(
            {from_address, config.desk.engineers_address.lower(), *config.smtp.recipients}
        ),
        team=config.desk.engineers_address.lower(),
    )


def known_plans(levels: ServiceLevels) -> set[str]:
    # "none" is Level 0 whether or not [sla.plans] spells it out.
    return {*levels.plans, "none"}


def reload_rules(desk: Desk) -> bool:
    """Take an edited rules file; True when the rules changed. Raises `DeskSetupError` for a
    bad edit, leaving the desk on the rules it had."""
    try:
        fresh = reread_rules(desk.rules)
    except FileProblemsError as error:
        raise DeskSetupError(str(error)) from None
    if fresh is desk.rules:
        return False
    desk.rules = fresh
    return True
