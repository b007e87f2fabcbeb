"""The `[sla]` section of the config: calendars, plans and warning thresholds, as typed models.

Parsed once at start (pydantic v2, unknown keys rejected); every error names the key path and
the fix. The models only check and hold values: `calendar.build_calendar` and
`deadlines.ServiceLevels.from_settings` turn them into the objects that compute deadlines.
`example.toml` next to this module documents every key; `load_example()` parses it.
"""

from __future__ import annotations

import tomllib
from datetime import date
from importlib import resources
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailintake.sla.public_holidays import LiberationDay, known_names, supported_country
from mailintake.sla.targets import Target, parse_target_key
from mailintake.sla.windows import WEEKDAYS, Window, check_no_overlap, parse_days, parse_window

WindowField = Annotated[Window, PlainValidator(parse_window), PlainSerializer(str)]
TargetField = Annotated[Target, PlainValidator(Target.parse), PlainSerializer(str)]


def check_timezone(name: str) -> str:
    """Return `name` if it is an IANA time zone; ValueError naming the fix otherwise."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: use an IANA name like 'Europe/Amsterdam'"
        ) from None
    return name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaySettings(_Section):
    """Public holidays that close a calendar, computed by the `holidays` package."""

    country: str = Field(
        description='ISO 3166 country code whose public holidays close the calendar, e.g. "NL".'
    )
    skip: list[str] = Field(
        default=[],
        description='Holidays the desk works on anyway, by English name, e.g. ["Good Friday"].',
    )
    liberation_day: LiberationDay | None = Field(
        default=None,
        description=(
            'NL only. "lustrum": a day off in 2025, 2030, ... as by law (the default); '
            '"yearly": every 5 May; "never": always a working day.'
        ),
    )

    @field_validator("country")
    @classmethod
    def _known_country(cls, country: str) -> str:
        country = country.strip().upper()
        if not supported_country(country):
            raise ValueError(f"unknown country {country!r}: use an ISO 3166 code such as 'NL'")
        return country

    @model_validator(mode="after")
    def _known_holidays(self) -> HolidaySettings:
        names = known_names(self.country)
        for name in self.skip:
            if name.strip().lower() not in names:
                known = ", ".join(sorted(names))
                raise ValueError(f"skip: no holiday {name!r} in {self.country}; known: {known}")
        if self.liberation_day is not None and self.country != "NL":
            raise ValueError("liberation_day applies to country 'NL' only; remove it")
        return self


class CalendarSettings(_Section):
    """When a desk is open: weekly windows in a time zone, minus holidays and closed days."""

    timezone: str | None = Field(
        default=None, description="IANA time zone of the windows; default: [sla] timezone."
    )
    always_open: bool = Field(
        default=False, description="24x7: open every minute; then give no windows or days."
    )
    windows: dict[str, list[WindowField]] = Field(
        default={},
        description=(
            'Open windows per day, local wall-clock time: { "mon-fri" = ["08:30-17:30"] }. '
            "Keys are mon..sun or ranges; several windows a day are allowed."
        ),
    )
    holidays: HolidaySettings | None = Field(
        default=None, description="Public holidays that close the calendar; none if absent."
    )
    holiday_windows: list[WindowField] = Field(
        default=[],
        description="Windows that apply on an observed public holiday instead of the weekday's "
        "(e.g. calamity service); default: closed all day.",
    )
    closed_days: list[date] = Field(
        default=[], description="Extra dates closed all day, e.g. a company day out."
    )
    open_days: list[date] = Field(
        default=[],
        description="Dates that are open with their weekday's windows even if a holiday or a "
        "closed day falls on them.",
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str | None) -> str | None:
        return None if name is None else check_timezone(name)

    def week(self) -> tuple[tuple[Window, ...], ...]:
        """The windows of Monday..Sunday, sorted; ValueError on overlap or a bad day key."""
        days: list[list[Window]] = [[] for _ in WEEKDAYS]
        for key, windows in self.windows.items():
            for weekday in parse_days(key):
                days[weekday].extend(windows)
        return tuple(check_no_overlap(day, WEEKDAYS[weekday]) for weekday, day in enumerate(days))

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSettings:
        if self.always_open:
            extras = [
                key
                for key in ("windows", "holidays", "holiday_windows", "closed_days", "open_days")
                if getattr(self, key)
            ]
            if extras:
                raise ValueError(
                    f"always_open = true is open every minute; remove {', '.join(extras)}"
                )
            return self
        week = self.week()
        check_no_overlap(list(self.holiday_windows), "holiday_windows")
        if self.holiday_windows and self.holidays is None:
            raise ValueError(
                'holiday_windows apply on public holidays; add holidays = { country = "NL" } '
                "or remove them"
            )
        if not any(week):
            raise ValueError(
                'a calendar needs windows, e.g. windows = { "mon-fri" = ["08:30-17:30"] }, '
                "or always_open = true"
            )
        for day in self.open_days:
            if not week[day.weekday()]:
                raise ValueError(
                    f"open_days: {day} is a {WEEKDAYS[day.weekday()]}, which has no windows; "
                    "an open day uses its weekday's windows, so add windows for that day"
                )
        both = sorted(set(self.open_days) & set(self.closed_days))
        if both:
            raise ValueError(f"{both[0]} is in both open_days and closed_days; keep one")
        return self


class TargetSettings(_Section):
    """First-response and resolution targets for one kind or category."""

    response: TargetField | None = Field(
        default=None, description='First response: "8h", "30m", "1h30m" or "1wd"; none if absent.'
    )
    resolution: TargetField | None = Field(
        default=None, description="Resolution, same units; counted from the resolution start."
    )
    calendar: str | None = Field(
        default=None,
        description="Calendar for this kind or category instead of the plan's, e.g. office "
        "hours for changes under a 24x7 plan.",
    )


class PlanSettings(_Section):
    """One SLA plan: its calendar, its calamity calendar and its targets."""

    calendar: str | None = Field(
        default=None, description="Name of the calendar the targets count in; needed with targets."
    )
    calamity_calendar: str | None = Field(
        default=None,
        description="Calendar of extra windows that also count for CAT III incidents.",
    )
    targets: dict[str, TargetSettings] = Field(
        default={},
        description="Per kind (incident, service_request, change, user_admin, other) or category "
        '("CAT I", "CAT II", "CAT III"). No targets: Level 0, best effort, no deadlines.',
    )

    @field_validator("targets", mode="before")
    @classmethod
    def _target_keys(cls, targets: Any) -> Any:
        if not isinstance(targets, dict):
            return targets
        normalised: dict[str, Any] = {}
        for key, value in targets.items():
            name = parse_target_key(str(key))
            if name in normalised:
                raise ValueError(f"targets {key!r} is given twice (as {name!r}); keep one")
            normalised[name] = value
        return normalised


class SlaSettings(_Section):
    """The whole `[sla]` section."""

    timezone: str = Field(
        default="Europe/Amsterdam", description="Time zone of calendars that do not name one."
    )
    warning_thresholds: list[float] = Field(
        default=[0.75, 1.0],
        description="Fractions of a target at which engineers are warned; 1.0 is the breach.",
    )
    calendars: dict[str, CalendarSettings] = Field(default={}, description="Calendars by name.")
    plans: dict[str, PlanSettings] = Field(
        default={}, description="Plans by name; a customer without a plan is Level 0."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        return check_timezone(name)

    @field_validator("warning_thresholds")
    @classmethod
    def _thresholds(cls, thresholds: list[float]) -> list[float]:
        if any(threshold <= 0 for threshold in thresholds):
            raise ValueError("thresholds are fractions of the target above 0, e.g. [0.75, 1.0]")
        return sorted(set(thresholds))

    @field_validator("plans")
    @classmethod
    def _references(
        cls, plans: dict[str, PlanSettings], info: ValidationInfo
    ) -> dict[str, PlanSettings]:
        if "calendars" not in info.data:
            return plans  # the calendars already failed; their errors say why
        calendars: dict[str, CalendarSettings] = info.data["calendars"]
        known = ", ".join(sorted(calendars)) or "(none defined)"
        for plan_name, plan in plans.items():
            where = f"plans.{plan_name}"
            references = [(f"{where}.calendar", plan.calendar)]
            references.append((f"{where}.calamity_calendar", plan.calamity_calendar))
            for key, target in plan.targets.items():
                references.append((f"{where}.targets.{key!r}.calendar", target.calendar))
                if target.calendar is None and plan.calendar is None:
                    raise ValueError(
                        f'{where}: targets need a calendar; add calendar = "office" (or the '
                        "name of another [sla.calendars] table) to the plan"
                    )
            for path, name in references:
                if name is not None and name not in calendars:
                    raise ValueError(
                        f"{path}: unknown calendar {name!r}; define [sla.calendars.{name}] "
                        f"or use one of: {known}"
                    )
        return plans


def load_example() -> SlaSettings:
    """Parse the `[sla]` section of the documented example shipped with the package."""
    text = resources.files("mailintake.sla").joinpath("example.toml").read_text("utf-8")
    return SlaSettings.model_validate(tomllib.loads(text)["sla"])
