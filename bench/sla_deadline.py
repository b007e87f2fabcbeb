"""SLA deadlines: mailintake's SLA room against a naive minute-by-minute walk, in one run.

Random cases (start, target, 0-3 pauses) on the example config's calendars: `office`
(Mon-Fri 08:30-17:30 Europe/Amsterdam, Dutch public holidays, Good Friday worked), the CAT III
union `office+calamity` (plus Mon-Fri 07:30-08:30 and 08:30-12:00 on weekends and holidays)
and the 24x7 `always`. Targets are open time from 30m to 16h, working days (1wd-3wd: the end of
service on the N-th working day after the report day) and the example plans' own targets (read
through `ServiceLevels.terms`). mailintake computes each deadline the way the app does:
`Terms.clock(metric, changes).deadline()` over `ClockChange`s, timed over all cases.

The naive walk knows nothing of mailintake's calendars: it has the windows and the Dutch
holiday rules written out by hand (Easter by the Gregorian computus) and steps one minute at a
time from the start, counting minutes that are open and not paused until the target is used
up. A working-day target is first turned into open minutes the same way (walk to the end of
the N-th working day, count the open minutes). Starts and pauses are whole minutes, so the walk
is exact. Pure Python walks minutes slowly, so the walk runs on a random subset
(`--naive-cases`), where both are timed for the speed-up (mailintake: the median of three
runs); every case of the subset must agree, or the script prints the first disagreeing case
and exits 1. The walk runs twice: computing the local time of every minute (the plain naive
walk, the speed-up's reference) and reading a table of open minutes built beforehand (faster;
its build time is not counted). mailintake alone is also timed over all `--cases`.

    .venv/bin/python bench/sla_deadline.py
    .venv/bin/python bench/sla_deadline.py --cases 20000 --naive-cases 20000 --seed 7  # walk all
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from mailintake.sla import (
    Calendar,
    ClockChange,
    Metric,
    ServiceLevels,
    Target,
    Terms,
    load_example,
)

ZONE = ZoneInfo("Europe/Amsterdam")
OPEN_TIME = re.compile(r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?")
FIRST_DAY = date(2024, 1, 1)
LAST_DAY = date(2027, 12, 31)
# The table walk needs minutes past the last start: pauses and targets run at most ~4 weeks.
TABLE_MARGIN = timedelta(days=90)
OFFICE = "office"
UNION = "office+calamity"
ALWAYS = "always"
PlanKey = tuple[str, str, str | None, Metric]  # plan, kind, category, metric
# The calendar and target example.toml gives some plans' tickets.
PLAN_TARGETS: dict[PlanKey, tuple[str, str]] = {
    ("premium", "incident", "CAT I", "response"): (OFFICE, "8h"),
    ("premium", "incident", "CAT II", "resolution"): (OFFICE, "4h"),
    ("premium", "incident", "CAT III", "response"): (UNION, "2h"),
    ("premium", "incident", None, "resolution"): (OFFICE, "8h"),
    ("premium", "service_request", None, "response"): (OFFICE, "8h"),
    ("standard", "incident", "CAT I", "resolution"): (OFFICE, "16h"),
    ("standard", "incident", "CAT III", "resolution"): (UNION, "8h"),
    ("sla_a", "incident", "CAT I", "resolution"): (ALWAYS, "8h"),
    ("sla_a", "incident", "CAT III", "response"): (ALWAYS, "1h"),
    ("sla_a", "change", None, "response"): (OFFICE, "1wd"),
    ("sla_a", "change", None, "resolution"): (OFFICE, "2wd"),
}


# --- the cases ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One deadline question; times are minutes since the Unix epoch (UTC)."""

    calendar: str
    target: str  # "1h45m" or "2wd"
    start: int
    pauses: tuple[tuple[int, int], ...]  # sorted, disjoint, [start, end)
    plan: PlanKey | None = None  # from a plan's terms, else None

    @property
    def working_days(self) -> int | None:
        return int(self.target[:-2]) if self.target.endswith("wd") else None

    @property
    def open_minutes(self) -> int:
        match = OPEN_TIME.fullmatch(self.target)
        assert match is not None, self.target
        return int(match["h"] or 0) * 60 + int(match["m"] or 0)

    def describe(self) -> str:
        pauses = ", ".join(f"{local(s)} → {local(e)}" for s, e in self.pauses) or "none"
        source = f"plan terms {self.plan}" if self.plan else "random target"
        return (
            f"calendar {self.calendar}, target {self.target} ({source})\n"
            f"  start  {local(self.start)}\n  pauses {pauses}"
        )


def local(minute: int) -> str:
    moment = datetime.fromtimestamp(minute * 60, ZONE)
    return f"{moment:%a} {moment.isoformat(timespec='minutes')}"


def epoch_minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def target_text(minutes: int) -> str:
    hours, rest = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{rest}m" if rest else "")


def special_days(years: range) -> list[date]:
    """Days around which deadlines are hard: daylight-saving changes and Dutch holidays."""
    days: list[date] = []
    for year in years:
        for month in (3, 10):  # last Sunday of March and of October
            last = date(year, month, 31)
            days.append(last - timedelta(days=(last.weekday() + 1) % 7))
        days.extend(dutch_holidays(year))
        days.append(easter(year) - timedelta(days=2))  # Good Friday: worked
    return days


def make_cases(count: int, rng: random.Random) -> list[Case]:
    first = epoch_minute(datetime.combine(FIRST_DAY, datetime.min.time(), ZONE))
    last = epoch_minute(datetime.combine(LAST_DAY, datetime.min.time(), ZONE))
    specials = special_days(range(FIRST_DAY.year, LAST_DAY.year + 1))
    edges = (450, 510, 720, 1050)  # 07:30, 08:30, 12:00, 17:30 local
    plan_keys = list(PLAN_TARGETS)
    cases = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:  # near a daylight-saving change or a holiday
            day = rng.choice(specials) + timedelta(days=rng.randint(-3, 2))
            midnight = datetime.combine(day, datetime.min.time(), ZONE)
            start = epoch_minute(midnight) + rng.randrange(1440)
        elif roll < 0.4:  # on a window's edge, give or take a minute
            day = FIRST_DAY + timedelta(days=rng.randrange((LAST_DAY - FIRST_DAY).days))
            at = rng.choice(edges) + rng.choice((-1, 0, 0, 1))
            # Aware arithmetic in one zone is wall-clock arithmetic: this is `at` local time.
            start = epoch_minute(
                datetime.combine(day, datetime.min.time(), ZONE) + timedelta(minutes=at)
            )
        else:
            start = rng.randrange(first, last)
        kind = rng.random()
        plan = None
        if kind < 0.15:
            plan = rng.choice(plan_keys)
            calendar, target = PLAN_TARGETS[plan]
        else:
            calendar = rng.choices((OFFICE, UNION, ALWAYS), weights=(45, 35, 20))[0]
            working_days = kind < 0.3
            target = f"{rng.randint(1, 3)}wd" if working_days else target_text(rng.randint(30, 960))
        cases.append(Case(calendar, target, start, make_pauses(start, rng), plan))
    return cases


def make_pauses(start: int, rng: random.Random) -> tuple[tuple[int, int], ...]:
    pauses = []
    cursor = start
    for _ in range(rng.choices((0, 1, 2, 3), weights=(35, 30, 20, 15))[0]):
        if rng.random() < 0.5:  # soon, and short: a question answered the same day
            begin = cursor + rng.randint(0, 8 * 60)
            end = begin + rng.randint(1, 4 * 60)
        else:  # waiting over nights and weekends
            begin = cursor + rng.randint(0, 3 * 1440)
            end = begin + rng.randint(8 * 60, 4 * 1440)
        pauses.append((begin, end))
        cursor = end + rng.choice((0, rng.randint(1, 600)))
    return tuple(pauses)


# --- mailintake ---------------------------------------------------------------------------------


Question = tuple[Terms, Metric, list[ClockChange]]


def mailintake_questions(cases: Sequence[Case]) -> list[Question]:
    """Each case as mailintake gets it: its terms, the metric and the clock's changes."""
    levels = ServiceLevels.from_settings(load_example())
    calendars: dict[str, Calendar] = {
        OFFICE: levels.terms("premium", "incident", "CAT I").calendar,
        UNION: levels.terms("premium", "incident", "CAT III").calendar,
        ALWAYS: levels.terms("sla_a", "incident", "CAT I").calendar,
    }
    for name, calendar in calendars.items():
        assert calendar.name == name, f"example config changed: {calendar.name} is not {name}"
    plan_terms: dict[PlanKey, Terms] = {}
    for key, (calendar_name, target) in PLAN_TARGETS.items():
        plan, kind, category, metric = key
        terms = levels.terms(plan, kind, category)
        found = (terms.calendar.name, str(terms.target(metric)))
        assert found == (calendar_name, target), f"example config changed: {key} gives {found}"
        plan_terms[key] = terms
    targets: dict[str, Target] = {}
    questions: list[Question] = []
    for case in cases:
        changes = [ClockChange(at(case.start), "start")]
        for begin, end in case.pauses:
            changes += [ClockChange(at(begin), "pause"), ClockChange(at(end), "resume")]
        if case.plan is not None:
            questions.append((plan_terms[case.plan], case.plan[3], changes))
            continue
        target = targets.setdefault(case.target, Target.parse(case.target))
        terms = Terms("bench", calendars[case.calendar], response=target, resolution=target)
        questions.append((terms, "response", changes))
    return questions


def at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, ZONE)


def mailintake_deadlines(questions: Sequence[Question]) -> tuple[list[datetime | None], float]:
    began = time.perf_counter()
    deadlines = [terms.clock(metric, changes).deadline() for terms, metric, changes in questions]
    return deadlines, time.perf_counter() - began


# --- the naive walk -----------------------------------------------------------------------------


def easter(year: int) -> date:
    """Easter Sunday (Gregorian, the anonymous computus)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month, day = divmod(h + el - 7 * m + 114, 31)
    return date(year, month, day + 1)


def dutch_holidays(year: int) -> list[date]:
    """Days off in the Netherlands as the example calendars keep them (Good Friday worked)."""
    sunday = easter(year)
    kings_day = date(year, 4, 27)
    if kings_day.weekday() == 6:
        kings_day -= timedelta(days=1)
    days = [
        date(year, 1, 1),
        sunday,
        sunday + timedelta(days=1),  # Easter Monday
        kings_day,
        sunday + timedelta(days=39),  # Ascension Day
        sunday + timedelta(days=49),  # Whit Sunday
        sunday + timedelta(days=50),  # Whit Monday
        date(year, 12, 25),
        date(year, 12, 26),
    ]
    if year % 5 == 0:
        days.append(date(year, 5, 5))  # Liberation Day, a day off in lustrum years
    return days


HOLIDAYS = frozenset(
    day for year in range(FIRST_DAY.year - 1, LAST_DAY.year + 2) for day in dutch_holidays(year)
)


def office_open(day: date, minute_of_day: int) -> bool:
    return day.weekday() < 5 and day not in HOLIDAYS and 510 <= minute_of_day < 1050


def calamity_open(day: date, minute_of_day: int) -> bool:
    if day.weekday() >= 5 or day in HOLIDAYS:
        return 510 <= minute_of_day < 720
    return 450 <= minute_of_day < 510


def open_by_wall_clock(calendar: str, day: date, minute_of_day: int) -> bool:
    if calendar == ALWAYS:
        return True
    if calendar == OFFICE:
        return office_open(day, minute_of_day)
    return office_open(day, minute_of_day) or calamity_open(day, minute_of_day)


class Minutes:
    """What the walk asks of a minute: is it open, and which local date is it."""

    def is_open(self, calendar: str) -> Callable[[int], bool]:
        def is_open(minute: int) -> bool:
            wall = datetime.fromtimestamp(minute * 60, ZONE)
            return open_by_wall_clock(calendar, wall.date(), wall.hour * 60 + wall.minute)

        return is_open

    def day(self, minute: int) -> int:
        return datetime.fromtimestamp(minute * 60, ZONE).toordinal()


class MinuteTable(Minutes):
    """The same answers read from tables built beforehand, one byte per minute."""

    def __init__(self, first: int, last: int) -> None:
        self.first = first
        self.open: dict[str, bytearray] = {
            name: bytearray(last - first) for name in (OFFICE, UNION)
        }
        self.days = array("i", bytes(4 * (last - first)))
        for index in range(last - first):
            wall = datetime.fromtimestamp((first + index) * 60, ZONE)
            day, minute_of_day = wall.date(), wall.hour * 60 + wall.minute
            self.days[index] = day.toordinal()
            if office_open(day, minute_of_day):
                self.open[OFFICE][index] = self.open[UNION][index] = 1
            elif calamity_open(day, minute_of_day):
                self.open[UNION][index] = 1

    def is_open(self, calendar: str) -> Callable[[int], bool]:
        if calendar == ALWAYS:
            return lambda minute: True
        table, first = self.open[calendar], self.first
        return lambda minute: table[minute - first] == 1

    def day(self, minute: int) -> int:
        return self.days[minute - self.first]


def naive_deadline(case: Case, minutes: Minutes) -> int:
    """The minute at which the target is used up, walking one minute at a time."""
    is_open = minutes.is_open(case.calendar)
    days = case.working_days
    budget = case.open_minutes if days is None else naive_working_day_budget(case, days, minutes)
    pauses = case.pauses
    minute, used, index = case.start, 0, 0
    while True:
        while index < len(pauses) and pauses[index][1] <= minute:
            index += 1
        paused = index < len(pauses) and pauses[index][0] <= minute
        if not paused and is_open(minute):
            used += 1
            if used == budget:
                return minute + 1
        minute += 1


def naive_working_day_budget(case: Case, days: int, minutes: Minutes) -> int:
    """Open minutes from the start to the end of service on the `days`-th working day after
    the report day (the local date of the first open minute at or after the start)."""
    is_open = minutes.is_open(case.calendar)
    minute = case.start
    while not is_open(minute):
        minute += 1
    report_day = minutes.day(minute)
    current_day, count, end = report_day, 0, minute
    while True:
        if is_open(minute):
            day = minutes.day(minute)
            if day != report_day:
                if day != current_day:
                    if count == days:
                        break
                    current_day, count = day, count + 1
                end = minute + 1
        minute += 1
    return sum(1 for m in range(case.start, end) if is_open(m))


def naive_deadlines(cases: Sequence[Case], minutes: Minutes) -> tuple[list[int], float]:
    began = time.perf_counter()
    deadlines = [naive_deadline(case, minutes) for case in cases]
    return deadlines, time.perf_counter() - began


# --- the run ------------------------------------------------------------------------------------


def first_disagreement(
    cases: Sequence[Case], ours: Sequence[datetime | None], *walks: Sequence[int]
) -> tuple[int, int] | None:
    """(index, count) of the first case where a walk and mailintake differ, else None."""
    wrong = [
        index
        for index, deadline in enumerate(ours)
        if deadline is None
        or deadline.second
        or deadline.microsecond
        or any(epoch_minute(deadline) != walk[index] for walk in walks)
    ]
    return (wrong[0], len(wrong)) if wrong else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000, help="cases for mailintake")
    parser.add_argument(
        "--naive-cases", type=int, default=5_000, help="of those, cases also walked naively"
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    naive_count = min(args.naive_cases, args.cases)
    rng = random.Random(args.seed)
    cases = make_cases(args.cases, rng)
    questions = mailintake_questions(cases)

    print(f"SLA deadlines: mailintake.sla vs a naive minute-by-minute walk (seed {args.seed})")
    calendars = Counter(case.calendar for case in cases)
    kinds = Counter(
        "plan" if case.plan else "working days" if case.working_days else "open time"
        for case in cases
    )
    pauses = Counter(len(case.pauses) for case in cases)
    print(
        f"{args.cases} cases, starts {FIRST_DAY}..{LAST_DAY} {ZONE.key} on whole minutes "
        "(30 % within days of a DST change or Dutch holiday, 10 % on a window edge ±1 min)"
    )
    print(
        "  calendars: " + ", ".join(f"{name} {calendars[name]}" for name in (OFFICE, UNION, ALWAYS))
    )
    print(
        f"  targets: open time 30m-16h {kinds['open time']}, working days 1wd-3wd "
        f"{kinds['working days']}, example plans' targets {kinds['plan']}"
    )
    print("  pauses per case: " + ", ".join(f"{n}: {pauses[n]}" for n in range(4)))

    everything, elapsed_all = mailintake_deadlines(questions)
    print(
        f"mailintake, all {args.cases} cases: {elapsed_all:.2f} s, "
        f"{elapsed_all / args.cases * 1e6:.1f} µs per deadline"
    )

    subset, subset_questions = cases[:naive_count], questions[:naive_count]
    # mailintake's subset takes a fraction of a second: the median of three runs steadies it.
    runs = [mailintake_deadlines(subset_questions) for _ in range(3)]
    ours, elapsed_ours = runs[0][0], sorted(elapsed for _, elapsed in runs)[1]
    walked, elapsed_walk = naive_deadlines(subset, Minutes())
    last_start = max(case.start for case in subset)
    first = min(case.start for case in subset)
    building = time.perf_counter()
    table = MinuteTable(first, last_start + int(TABLE_MARGIN.total_seconds()) // 60)
    built = time.perf_counter() - building
    tabled, elapsed_table = naive_deadlines(subset, table)
    if naive_count < args.cases:
        print(
            f"naive walk on a random subset of {naive_count} cases (pure Python is too slow for "
            "all); both timed on that subset:"
        )
    else:
        print(f"naive walk on all {naive_count} cases; both timed on them:")
    per = 1e6 / naive_count
    for label, elapsed, note in (
        ("mailintake", elapsed_ours, ""),
        ("naive walk, local time of every minute", elapsed_walk, ""),
        (
            "naive walk, open-minute table built first",
            elapsed_table,
            f" (table {built:.1f} s, not counted)",
        ),
    ):
        print(f"  {label:<44}{elapsed * per:9.1f} µs per deadline{note}")
    if ours != everything[:naive_count]:
        print("FAIL: mailintake gave different deadlines for the same cases in two runs")
        return 1
    wrong = first_disagreement(subset, ours, walked, tabled)
    if wrong is not None:
        index, count = wrong
        case = subset[index]
        deadline = ours[index]
        print(f"FAIL: {count} of {naive_count} cases disagree; the first, case {index}:")
        print("  " + case.describe())
        shown = (
            deadline.isoformat()
            if deadline is None or deadline.second
            else local(epoch_minute(deadline))
        )
        print(f"  mailintake {shown}")
        print(f"  naive walk {local(walked[index])}; table walk {local(tabled[index])}")
        return 1
    print(f"  agreement: all {naive_count} deadlines identical (mailintake, both naive walks)")
    speed_up = elapsed_walk / elapsed_ours
    verdict = "met" if speed_up >= 50 else "NOT met"
    print(
        f"speed-up: {speed_up:.0f}x over the naive walk (goal >= 50x: {verdict}); "
        f"{elapsed_table / elapsed_ours:.0f}x over the table walk"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
