"""SLA clocks folded from their changes: pauses, stops, category changes and warnings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from mailintake.sla.calendar import BusinessCalendar
from mailintake.sla.clock import Clock, ClockAction, ClockChange, ClockState, due_warnings
from mailintake.sla.deadlines import ServiceLevels
from mailintake.sla.targets import Target

from .support import ams

EIGHT_HOURS = Target.parse("8h")
H = timedelta(hours=1)


def clock(office: BusinessCalendar, *changes: tuple[datetime, str], target: str = "8h") -> Clock:
    return Clock.from_changes(
        [ClockChange(at, ClockAction(action)) for at, action in changes],
        Target.parse(target),
        office,
    )


def test_unstarted_clock_has_no_deadline(office: BusinessCalendar) -> None:
    idle = clock(office)
    assert idle.state is ClockState.NOT_STARTED
    assert idle.deadline() is None
    assert idle.elapsed_open(ams(2026, 3, 9, 12)) == timedelta(0)
    assert idle.fraction_used(ams(2026, 3, 9, 12)) is None


def test_running_clock(office: BusinessCalendar) -> None:
    running = clock(office, (ams(2026, 3, 2, 16), "start"))
    assert running.state is ClockState.RUNNING
    assert running.deadline() == ams(2026, 3, 3, 15)
    assert running.elapsed_open(ams(2026, 3, 3, 9, 30)) == 2.5 * H
    assert running.fraction_used(ams(2026, 3, 3, 9, 30)) == pytest.approx(2.5 / 8)


def test_pause_over_night_and_weekend_counts_no_open_time(office: BusinessCalendar) -> None:
    # Started Thursday 16:00; waiting for the customer from Thursday 17:00 to Monday 10:00.
    paused = clock(
        office,
        (ams(2026, 3, 5, 16), "start"),
        (ams(2026, 3, 5, 17), "pause"),
        (ams(2026, 3, 9, 10), "resume"),
    )
    assert clock(office, (ams(2026, 3, 5, 16), "start")).deadline() == ams(2026, 3, 6, 15)
    assert paused.deadline() == ams(2026, 3, 9, 17)  # 1 h Thursday, 7 h Monday from 10:00
    assert paused.elapsed_open(ams(2026, 3, 9, 12)) == 3 * H


def test_pause_while_closed_changes_nothing(office: BusinessCalendar) -> None:
    start = ams(2026, 3, 5, 16)
    paused = clock(office, (start, "start"), (ams(2026, 3, 6, 18), "pause"))
    resumed = clock(
        office, (start, "start"), (ams(2026, 3, 6, 18), "pause"), (ams(2026, 3, 9, 8), "resume")
    )
    assert paused.state is ClockState.PAUSED
    assert paused.deadline() is None  # open while waiting
    assert paused.deadline(now=ams(2026, 3, 9, 8)) == ams(2026, 3, 6, 15)
    assert resumed.deadline() == ams(2026, 3, 6, 15)


def test_paused_clock_projects_its_deadline_from_now(office: BusinessCalendar) -> None:
    paused = clock(office, (ams(2026, 3, 2, 9, 30), "start"), (ams(2026, 3, 2, 10, 30), "pause"))
    # 1 h used; resumed Tuesday 09:00 it has 7 h left.
    assert paused.deadline(now=ams(2026, 3, 3, 9)) == ams(2026, 3, 3, 16)
    assert paused.elapsed_open(ams(2026, 3, 3, 12)) == H


def test_stop_freezes_elapsed_time_and_keeps_the_deadline(office: BusinessCalendar) -> None:
    stopped = clock(office, (ams(2026, 3, 2, 9), "start"), (ams(2026, 3, 2, 11), "stop"))
    assert stopped.state is ClockState.STOPPED
    assert stopped.elapsed_open(ams(2026, 3, 20)) == 2 * H
    assert stopped.deadline() == ams(2026, 3, 2, 17)


def test_stop_while_paused_ends_the_pause(office: BusinessCalendar) -> None:
    stopped = clock(
        office,
        (ams(2026, 3, 2, 9), "start"),
        (ams(2026, 3, 2, 10), "pause"),
        (ams(2026, 3, 2, 15), "stop"),
    )
    assert stopped.state is ClockState.STOPPED
    assert stopped.elapsed_open(ams(2026, 3, 3, 12)) == H


def test_resume_after_stop_reopens_without_counting_the_stop(office: BusinessCalendar) -> None:
    reopened = clock(
        office,
        (ams(2026, 3, 2, 9), "start"),
        (ams(2026, 3, 2, 11), "stop"),
        (ams(2026, 3, 3, 9), "resume"),
    )
    assert reopened.state is ClockState.RUNNING
    assert reopened.elapsed_open(ams(2026, 3, 3, 10)) == 3 * H
    assert reopened.deadline() == ams(2026, 3, 3, 15)


def test_changes_are_folded_in_time_order_and_nonsense_is_ignored(
    office: BusinessCalendar,
) -> None:
    messy = clock(
        office,
        (ams(2026, 3, 2, 12), "pause"),
        (ams(2026, 3, 2, 9), "start"),
        (ams(2026, 3, 2, 10), "start"),  # a second start keeps the first
        (ams(2026, 3, 2, 11), "resume"),  # not paused
        (ams(2026, 3, 2, 12, 30), "pause"),  # already paused
        (ams(2026, 3, 2, 13), "resume"),
    )
    assert messy.started_at == ams(2026, 3, 2, 9)
    assert messy.pauses == ((ams(2026, 3, 2, 12), ams(2026, 3, 2, 13)),)
    assert messy.deadline() == ams(2026, 3, 3, 9)


def test_pause_before_start_is_ignored(office: BusinessCalendar) -> None:
    early = clock(office, (ams(2026, 3, 2, 8), "pause"), (ams(2026, 3, 2, 16), "start"))
    assert early.state is ClockState.RUNNING
    assert early.deadline() == ams(2026, 3, 3, 15)


def test_category_change_recomputes_from_the_original_start(levels: ServiceLevels) -> None:
    cat1 = levels.terms("premium", "incident", "CAT I")
    response = cat1.clock("response", [ClockChange(ams(2026, 3, 6, 16), ClockAction.START)])
    assert response.deadline() == ams(2026, 3, 9, 15)
    cat3 = levels.terms("premium", "incident", "CAT III")
    upgraded = response.with_target(cat3.response, cat3.calendar)
    # From Friday 16:00: 1.5 h office hours Friday, then calamity service Saturday 08:30.
    assert upgraded.started_at == ams(2026, 3, 6, 16)
    assert upgraded.deadline() == ams(2026, 3, 7, 9)


def test_working_day_target_with_a_pause(office: BusinessCalendar) -> None:
    # 1wd from Monday 12:00 is Tuesday 17:30; a pause of 2 open hours moves it 2 open hours.
    paused = clock(
        office,
        (ams(2026, 3, 2, 12), "start"),
        (ams(2026, 3, 2, 13), "pause"),
        (ams(2026, 3, 2, 15), "resume"),
        target="1wd",
    )
    assert paused.budget() == 14.5 * H
    assert paused.deadline() == ams(2026, 3, 4, 10, 30)
    assert paused.fraction_used(ams(2026, 3, 3, 17, 30)) == pytest.approx(12.5 / 14.5)


def test_naive_change_is_rejected() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        ClockChange(datetime(2026, 3, 2, 9), ClockAction.START)


def test_action_may_be_given_as_text() -> None:
    assert ClockChange(ams(2026, 3, 2, 9), "pause").action is ClockAction.PAUSE  # type: ignore[arg-type]


THRESHOLDS = [0.75, 1.0]


@pytest.mark.parametrize(
    ("now", "already_sent", "expected"),
    [
        pytest.param(ams(2026, 3, 2, 14), [], [], id="below"),
        pytest.param(ams(2026, 3, 2, 14, 30), [], [0.75], id="at-75"),
        pytest.param(ams(2026, 3, 2, 14, 30), [0.75], [], id="75-already-sent"),
        pytest.param(ams(2026, 3, 2, 16, 30), [0.75], [1.0], id="breach"),
        pytest.param(ams(2026, 3, 4, 9), [], [0.75, 1.0], id="both-while-down"),
        pytest.param(ams(2026, 3, 4, 9), [0.75, 1.0], [], id="all-sent"),
    ],
)
def test_due_warnings(
    office: BusinessCalendar, now: datetime, already_sent: list[float], expected: list[float]
) -> None:
    running = clock(office, (ams(2026, 3, 2, 8, 30), "start"))
    assert due_warnings(running, now, THRESHOLDS, already_sent) == expected


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param(
            [(ams(2026, 3, 2, 8, 30), "start"), (ams(2026, 3, 2, 9), "pause")], id="paused"
        ),
        pytest.param(
            [(ams(2026, 3, 2, 8, 30), "start"), (ams(2026, 3, 2, 9), "stop")], id="stopped"
        ),
        pytest.param([], id="not-started"),
    ],
)
def test_no_warnings_for_a_clock_that_is_not_running(
    office: BusinessCalendar, changes: list[tuple[datetime, str]]
) -> None:
    idle = clock(office, *changes)
    assert due_warnings(idle, ams(2026, 3, 20), THRESHOLDS, []) == []


def test_no_warnings_without_a_target(office: BusinessCalendar) -> None:
    best_effort = Clock.from_changes(
        [ClockChange(ams(2026, 3, 2, 8, 30), ClockAction.START)], None, office
    )
    assert best_effort.deadline() is None
    assert due_warnings(best_effort, ams(2026, 3, 20), THRESHOLDS, []) == []


def test_at_fraction_tells_when_a_warning_falls_due(office: BusinessCalendar) -> None:
    running = clock(office, (ams(2026, 3, 2, 8, 30), "start"))
    assert running.at_fraction(0.75) == ams(2026, 3, 2, 14, 30)
