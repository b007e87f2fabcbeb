"""Deadlines per plan, kind and category, as `mailintake sla due` computes and prints them."""

from __future__ import annotations

from datetime import datetime

import pytest

from mailintake.sla.deadlines import ServiceLevels, format_due

from .support import ams, sla_from

# Premium: 8 h service request, CAT II 4 h, CAT III 2 h with calamity service;
# Standard: 16 h service request, CAT III 8 h with calamity service; sla_a: 24x7.
# fmt: off
DUE_CASES = [
    pytest.param("premium", "service_request", None, ams(2026, 3, 2, 16),
                 ams(2026, 3, 3, 15), None, id="seed-example"),
    pytest.param("standard", "service_request", None, ams(2026, 3, 2, 16),
                 ams(2026, 3, 4, 14), None, id="standard-16h"),
    pytest.param("premium", "incident", "CAT II", ams(2026, 3, 2, 16),
                 ams(2026, 3, 3, 11), ams(2026, 3, 3, 11), id="premium-cat2"),
    pytest.param("premium", "incident", "CAT III", ams(2026, 3, 7, 11),
                 ams(2026, 3, 8, 9, 30), ams(2026, 3, 8, 9, 30), id="calamity-saturday"),
    pytest.param("premium", "incident", "CAT III", ams(2026, 3, 6, 17),
                 ams(2026, 3, 7, 10), ams(2026, 3, 7, 10), id="calamity-friday-evening"),
    pytest.param("premium", "incident", "CAT III", ams(2026, 3, 9, 7),
                 ams(2026, 3, 9, 9, 30), ams(2026, 3, 9, 9, 30), id="calamity-early-monday"),
    pytest.param("premium", "incident", "CAT III", ams(2026, 4, 6, 11),
                 ams(2026, 4, 7, 8, 30), ams(2026, 4, 7, 8, 30), id="calamity-easter-monday"),
    pytest.param("standard", "incident", "CAT III", ams(2026, 3, 7, 11),
                 ams(2026, 3, 9, 11), ams(2026, 3, 9, 11), id="standard-calamity-8h"),
    pytest.param("premium", "incident", "CAT I", ams(2026, 3, 7, 11),
                 ams(2026, 3, 9, 16, 30), ams(2026, 3, 9, 16, 30), id="cat1-waits-for-monday"),
    pytest.param("premium", "incident", None, ams(2026, 3, 2, 16),
                 ams(2026, 3, 3, 15), ams(2026, 3, 3, 15), id="uncategorised-incident"),
    pytest.param("sla_a", "incident", "CAT III", ams(2026, 3, 7, 23),
                 ams(2026, 3, 8, 0), ams(2026, 3, 8, 3), id="24x7"),
    pytest.param("sla_a", "change", None, ams(2026, 3, 6, 17),
                 ams(2026, 3, 9, 17, 30), ams(2026, 3, 10, 17, 30), id="24x7-plan-change-in-wd"),
    pytest.param("none", "incident", "CAT III", ams(2026, 3, 2, 16), None, None, id="level-0"),
    pytest.param(None, "incident", "CAT I", ams(2026, 3, 2, 16), None, None, id="no-plan"),
    pytest.param("premium", "user_admin", None, ams(2026, 3, 2, 16), None, None, id="no-target"),
]
# fmt: on


@pytest.mark.parametrize(("plan", "kind", "category", "start", "response", "resolution"), DUE_CASES)
def test_due(
    levels: ServiceLevels,
    plan: str | None,
    kind: str,
    category: str | None,
    start: datetime,
    response: datetime | None,
    resolution: datetime | None,
) -> None:
    due = levels.due(plan, kind, category, start)
    assert (due.response, due.resolution) == (response, resolution)


def test_calamity_only_for_cat3_incidents(levels: ServiceLevels) -> None:
    assert levels.terms("premium", "incident", "CAT III").calendar.name == "office+calamity"
    assert levels.terms("premium", "incident", "CAT II").calendar.name == "office"
    assert levels.terms("premium", "service_request", "CAT III").calendar.name == "office"


@pytest.mark.parametrize("written", ["CAT III", "cat iii", "CATIII", "3", "III"])
def test_category_spellings(levels: ServiceLevels, written: str) -> None:
    assert levels.terms("premium", "incident", written).matched == "CAT III"


def test_category_without_kind_is_an_incident(levels: ServiceLevels) -> None:
    assert levels.terms("premium", None, "CAT II").matched == "CAT II"
    assert levels.terms("premium", None, None).matched is None  # kind "other": no target


@pytest.mark.parametrize(
    ("plan", "kind", "category", "message"),
    [
        ("gold", "incident", "CAT I", r"unknown plan 'gold': known plans are none, premium"),
        ("premium", "outage", None, r"unknown kind 'outage'"),
        ("premium", "incident", "CAT IV", r"bad category 'CAT IV'"),
    ],
)
def test_bad_lookups_are_named(
    levels: ServiceLevels, plan: str, kind: str, category: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        levels.terms(plan, kind, category)


def test_naive_start_is_rejected(levels: ServiceLevels) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        levels.due("premium", "incident", "CAT I", datetime(2026, 3, 2, 16))


def test_format_due_prints_response_first_in_iso_with_offset(levels: ServiceLevels) -> None:
    # Saturday before the spring change: 0.5 h calamity service, then Sunday in summer time.
    text = format_due(levels.due("premium", "incident", "CAT III", ams(2026, 3, 28, 11, 30)))
    lines = text.splitlines()
    assert lines[0] == "response due:   2026-03-29T10:00:00+02:00"
    assert lines[1] == "resolution due: 2026-03-29T10:00:00+02:00"
    assert "plan premium" in lines[2] and "'CAT III'" in lines[2]


def test_format_due_level_0(levels: ServiceLevels) -> None:
    text = format_due(levels.due(None, "incident", "CAT I", ams(2026, 3, 2, 16)))
    assert text.splitlines()[:2] == [
        "response due:   none (no target)",
        "resolution due: none (no target)",
    ]


def test_target_calendar_overrides_the_plan_calendar() -> None:
    settings = sla_from(
        """
[sla.calendars.office]
windows = { "mon-fri" = ["08:30-17:30"] }
[sla.calendars.always]
always_open = true
[sla.plans.a]
calendar = "always"
targets.incident = { response = "1h" }
targets.change = { response = "1h", calendar = "office" }
"""
    )
    levels = ServiceLevels.from_settings(settings)
    assert levels.due("a", "incident", None, ams(2026, 3, 7, 10)).response == ams(2026, 3, 7, 11)
    assert levels.due("a", "change", None, ams(2026, 3, 7, 10)).response == ams(2026, 3, 9, 9, 30)
