"""The [notifier] config section: the documented example parses, mistakes are named."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError

from mailintake.config import DeskSettings, OutboundSettings
from mailintake.notifier.settings import DeliverySettings, NotifierSettings

EXAMPLE = Path(__file__).parents[2] / "mailintake" / "notifier" / "example.toml"


def test_the_example_is_the_defaults() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["notifier"]
    assert NotifierSettings.model_validate(data) == NotifierSettings()


def test_service_hours_by_calendar_and_language() -> None:
    settings = NotifierSettings()
    assert settings.service_hours_text("calamity", "en").startswith("Monday to Friday from 07:30")
    assert settings.service_hours_text("no-such-calendar", "nl").startswith("maandag t/m vrijdag")


def test_the_desk_as_mail_shows_it() -> None:
    desk = NotifierSettings(phone="+31 20 123 4567").desk(
        DeskSettings(name="CNE Servicedesk"), OutboundSettings(from_address="support@cne.nl")
    )
    assert (desk.name, desk.address, desk.phone) == (
        "CNE Servicedesk", "support@cne.nl", "+31 20 123 4567",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"lease_seconds": 60, "timeout_seconds": 30}, "at least 4 x timeout_seconds"),
        ({"base_delay_seconds": 600, "max_delay_seconds": 60}, "shorter than base_delay_seconds"),
        ({"give_up_after_hours": 0}, "greater than 0"),
        ({"retries": 3}, "Extra inputs are not permitted"),
    ],
)
def test_inconsistent_delivery_settings_are_refused(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        DeliverySettings.model_validate(values)


def test_unknown_languages_are_refused() -> None:
    with pytest.raises(ValidationError, match="default_language"):
        NotifierSettings.model_validate({"default_language": "de"})
