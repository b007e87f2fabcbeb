"""The `[notifier]` section of the config: templates, wording, delivery retries and rate limits.

Parsed once at start like every other section (pydantic, unknown keys refused). The outbound
server itself (host, port, security, auth, from address) stays in `[outbound]`; this section says
how the notifier uses it: how often and how long to retry, how long a claimed message is hidden
from a second daemon, and how many acknowledgements one sender may get per hour. Service hours
are written out per calendar name and language because the acknowledgement states them in words
the customer reads, which the SLA room's calendars do not know.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal, Self

from pydantic import Field, model_validator

from mailintake.notifier.contexts import Desk
from mailintake.sections import Section

if TYPE_CHECKING:
    from mailintake.config import DeskSettings, OutboundSettings

Language = Literal["nl", "en"]


class LocalizedText(Section):
    nl: str
    en: str

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.nl


def _default_service_hours() -> dict[str, LocalizedText]:
    # Keyed by the SLA calendar names of the example config; "calamity" describes the office
    # hours together with the calamity service, as they apply to a CAT III ticket.
    return {
        "office": LocalizedText(
            nl="maandag t/m vrijdag van 08:30 tot 17:30 uur, behalve op feestdagen",
            en="Monday to Friday from 08:30 to 17:30, except on public holidays",
        ),
        "calamity": LocalizedText(
            nl="maandag t/m vrijdag van 07:30 tot 17:30 uur en zaterdag en zondag van 08:30 tot "
            "12:00 uur (calamiteitenservice)",
            en="Monday to Friday from 07:30 to 17:30 and Saturday and Sunday from 08:30 to 12:00 "
            "(calamity service)",
        ),
        "always": LocalizedText(
            nl="24 uur per dag, 7 dagen per week", en="24 hours a day, 7 days a week"
        ),
    }


class DeliverySettings(Section):
    batch_size: int = Field(100, ge=1, description="messages sent per delivery run at most")
    base_delay_seconds: float = Field(60, gt=0, description="wait before the first retry")
    max_delay_seconds: float = Field(1800, gt=0, description="longest wait between two tries")
    give_up_after_hours: float = Field(
        48, gt=0, description="a message still not sent this long after it was queued fails"
    )
    lease_seconds: float = Field(
        300, gt=0, description="how long a message being sent is hidden from other daemons"
    )
    timeout_seconds: float = Field(30, gt=0, description="SMTP socket timeout")
    tls_ca_file: Path | None = Field(
        None, description="CA certificates to verify the outbound server by (own CA, internal)"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValueError(
                "max_delay_seconds is shorter than base_delay_seconds; make it at least as long"
            )
        # A lease that ends while the first daemon is still talking SMTP lets a second daemon
        # send the same message again; a few socket timeouts cover connect, EHLO, DATA.
        if self.lease_seconds < 4 * self.timeout_seconds:
            raise ValueError(
                "lease_seconds must be at least 4 x timeout_seconds, or a slow server lets a "
                "second daemon send the same message while the first still waits for it"
            )
        return self


class AcknowledgementSettings(Section):
    max_per_sender_per_hour: int = Field(
        5, ge=1, description="acknowledgements and other automatic replies per sender per hour"
    )


class FormSettings(Section):
    add_user_url: str = Field("https://example.nl/aanmelden", description="web form: add a user")
    remove_user_url: str = Field(
        "https://example.nl/afmelden", description="web form: remove a user"
    )


class NotifierSettings(Section):
    templates_dir: Path | None = Field(
        None, description="folder with admin versions of templates (nl/…, en/…), tried first"
    )
    default_language: Language = "nl"
    engineers_language: Language = "nl"
    phone: str | None = Field(None, description="desk telephone number mentioned in mail")
    service_hours: dict[str, LocalizedText] = Field(default_factory=_default_service_hours)
    delivery: DeliverySettings = DeliverySettings()
    acknowledgements: AcknowledgementSettings = AcknowledgementSettings()
    forms: FormSettings = FormSettings()

    def service_hours_text(self, calendar: str, language: str) -> str:
        """The service hours of SLA calendar `calendar` in words; office hours if unknown."""
        entry = self.service_hours.get(calendar) or self.service_hours.get("office")
        if entry is None:
            return ""
        return entry.text(language)

    def desk(self, desk: DeskSettings, outbound: OutboundSettings) -> Desk:
        """Who the mail is from, as templates show it."""
        return Desk(name=desk.name, address=outbound.from_address, phone=self.phone)
