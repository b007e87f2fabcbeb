"""What each template is given: one frozen dataclass per kind of mail, so no field is forgotten.

A context's class decides which template renders it (`kind`), and every field is required
unless it has a default, so a caller that leaves one out fails when the dataclass is built, not
when a customer reads an empty sentence. Times are aware datetimes (templates show them in the
desk's zone); codes such as a ticket's kind or a missing field's name are passed as codes, and
the templates put them into words (`nl/_labels.j2`, `en/_labels.j2`). Example contexts for
`mailintake templates check` are in `samples`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal


@dataclass(frozen=True, kw_only=True)
class Desk:
    """The desk as the mail presents it: its name, the address to write to, a phone number."""

    name: str
    address: str
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class Contact:
    """A person to ask about planned maintenance."""

    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class MissingField:
    """A field a report lacks: its name in the rules and what to ask for, in the mail's language.

    `ask` comes from the rules file (`[fields.NAME] ask.nl`); when the rules have none for the
    language, the caller passes the field's name and the template's own words are used.
    """

    name: str
    ask: str


@dataclass(frozen=True, kw_only=True)
class MailContext:
    kind: ClassVar[str]
    desk: Desk

    def variables(self) -> dict[str, Any]:
        """The template's variables: the fields, one level deep (nested dataclasses stay)."""
        return {field.name: getattr(self, field.name) for field in fields(self)}


@dataclass(frozen=True, kw_only=True)
class MaintenanceUnderWay:
    """Planned maintenance going on while a report comes in; the answer names it."""

    reference: str
    services: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True, kw_only=True)
class AcknowledgementContext(MailContext):
    """A new ticket is made: its ref, the category as assessed and the response deadline.

    `level_zero` is a customer without a plan (best effort): the mail promises no deadline.
    A customer with a plan whose kind of report has no target also gets no `response_due`.
    """

    kind: ClassVar[str] = "acknowledgement"
    ref: str
    requester_name: str
    subject: str
    ticket_kind: str
    category: str | None
    customer: str | None
    level_zero: bool
    response_due: datetime | None
    service_hours: str
    # A planned maintenance on a service the report is about, under way as it came in.
    maintenance: MaintenanceUnderWay | None = None

    def __post_init__(self) -> None:
        if self.level_zero and self.response_due is not None:
            raise ValueError("a Level 0 acknowledgement states no deadline: give response_due=None")


@dataclass(frozen=True, kw_only=True)
class ClarificationContext(MailContext):
    """A report is incomplete: which fields are missing, and how to answer."""

    kind: ClassVar[str] = "clarification"
    ref: str
    requester_name: str
    subject: str
    missing: tuple[MissingField, ...]

    def __post_init__(self) -> None:
        if not self.missing:
            raise ValueError("a clarification request needs at least one missing field")


@dataclass(frozen=True, kw_only=True)
class UserAdminFormsContext(MailContext):
    """A request to add or remove users: only the web forms are accepted; here are the links."""

    kind: ClassVar[str] = "user_admin_forms"
    requester_name: str
    subject: str
    add_user_url: str
    remove_user_url: str
    # "add", "remove", or None when the mail asks for both or it is not clear which.
    action: Literal["add", "remove"] | None = None


@dataclass(frozen=True, kw_only=True)
class DispatchContext(MailContext):
    """To the engineers: a new ticket, or a ticket whose category changed."""

    kind: ClassVar[str] = "dispatch"
    change: Literal["new", "category_changed"]
    ref: str
    subject: str
    requester: str
    requester_name: str
    customer: str | None
    plan: str | None
    ticket_kind: str
    category: str | None
    previous_category: str | None
    response_due: datetime | None
    resolution_due: datetime | None
    missing: tuple[str, ...]
    excerpt: str
    # One line per rule that decided the classification, as the classifier explains it.
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SlaWarningContext(MailContext):
    """To the engineers: a clock has used `threshold` of its target (1.0 is a breach)."""

    kind: ClassVar[str] = "sla_warning"
    ref: str
    subject: str
    customer: str | None
    plan: str | None
    category: str | None
    metric: Literal["response", "resolution"]
    threshold: float
    due: datetime

    @property
    def breached(self) -> bool:
        return self.threshold >= 1.0


@dataclass(frozen=True, kw_only=True)
class MaintenanceFacts(MailContext):
    """What every maintenance mail states: everything the SLA says a notice must."""

    reference: str
    customer: str | None
    contact: Contact
    start: datetime
    end: datetime
    expected_duration: timedelta
    services: tuple[str, ...]
    reason: str

    def __post_init__(self) -> None:
        _check_window(self.start, self.end, self.services)


@dataclass(frozen=True, kw_only=True)
class MaintenanceNoticeContext(MaintenanceFacts):
    """Planned maintenance announced (or, with `reminder`, recalled) to a customer."""

    kind: ClassVar[str] = "maintenance_notice"
    reminder: bool = False


@dataclass(frozen=True, kw_only=True)
class MaintenanceCancelledContext(MaintenanceFacts):
    """A planned maintenance that was announced will not take place."""

    kind: ClassVar[str] = "maintenance_cancelled"
    cancel_reason: str | None = None


def _check_window(start: datetime, end: datetime, services: tuple[str, ...]) -> None:
    if end <= start:
        raise ValueError("a maintenance window must end after it starts")
    if not services:
        raise ValueError("a maintenance notice must name the services affected")


@dataclass(frozen=True, kw_only=True)
class RelayContext(MailContext):
    """An engineer's answer, passed on to the customer from the desk's address."""

    kind: ClassVar[str] = "relay"
    ref: str
    requester_name: str
    subject: str
    engineer: str
    body: str


@dataclass(frozen=True, kw_only=True)
class CommandErrorContext(MailContext):
    """To an engineer: commands in their mail were not understood, so nothing was done."""

    kind: ClassVar[str] = "command_error"
    ref: str
    subject: str
    engineer: str
    errors: tuple[str, ...]
    known: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.errors:
            raise ValueError("a command error mail needs at least one error")


CONTEXTS: dict[str, type[MailContext]] = {
    cls.kind: cls
    for cls in (
        AcknowledgementContext,
        ClarificationContext,
        UserAdminFormsContext,
        DispatchContext,
        SlaWarningContext,
        MaintenanceNoticeContext,
        MaintenanceCancelledContext,
        RelayContext,
        CommandErrorContext,
    )
}
KINDS: tuple[str, ...] = tuple(CONTEXTS)
