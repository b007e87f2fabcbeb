"""Fixtures for the SLA tests: the example config's service levels and calendars."""

from __future__ import annotations

import pytest

from mailintake.sla.calendar import BusinessCalendar
from mailintake.sla.deadlines import ServiceLevels
from mailintake.sla.settings import load_example


@pytest.fixture(scope="session")
def levels() -> ServiceLevels:
    return ServiceLevels.from_settings(load_example())


@pytest.fixture(scope="session")
def office(levels: ServiceLevels) -> BusinessCalendar:
    return levels.calendars["office"]
