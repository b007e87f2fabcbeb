"""Public holidays, computed (never fetched) from the `holidays` package, with the desk's toggles.

A calendar names a country ("NL"); the package computes that country's holidays for any year.
The desk then says which of them it works anyway (`skip`, e.g. Good Friday, which most Dutch
desks work) and, for the Netherlands, how it treats Liberation Day: by law a day off only in
lustrum years (2025, 2030, ...), which is what the package computes; some agreements give it
every year, some never. Names are the package's English names ("Easter Monday", "King's Day").
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from typing import Literal

import holidays

LiberationDay = Literal["lustrum", "yearly", "never"]
LIBERATION_DAY = "Liberation Day"


@dataclass(frozen=True)
class Holiday:
    """One line of the holiday list: `observed` is False when the desk works that day."""

    day: date
    name: str
    observed: bool
    note: str = ""


@dataclass(frozen=True)
class HolidayRules:
    """Which public holidays close a calendar: a country's list minus the skipped ones."""

    country: str
    skip: frozenset[str] = frozenset()  # lower-cased holiday names the desk works on
    liberation_day: LiberationDay | None = None  # None: as the package computes it

    def holidays_for(self, year: int) -> list[Holiday]:
        """Every public holiday of `year`, observed or not, in date order."""
        return list(_holidays_for(self, year))

    def closed_on(self, day: date) -> str | None:
        """The name of the observed holiday on `day`, or None."""
        return _observed(self, day.year).get(day)


def supported_country(country: str) -> bool:
    return country in holidays.list_supported_countries()


@functools.cache
def known_names(country: str) -> frozenset[str]:
    """Every holiday name the package gives `country` over a wide span of years (lower-cased)."""
    names = {name.lower() for _, name in _package_holidays(country, range(2000, 2061))}
    if country == "NL":
        names.add(LIBERATION_DAY.lower())
    return frozenset(names)


def _package_holidays(country: str, years: range | int) -> list[tuple[date, str]]:
    languages = holidays.country_holidays(country).supported_languages
    # English names keep config and printouts the same whatever the package's default locale.
    language = "en_US" if "en_US" in languages else None
    table = holidays.country_holidays(country, years=years, language=language)
    return sorted(table.items())


@functools.cache
def _holidays_for(rules: HolidayRules, year: int) -> tuple[Holiday, ...]:
    entries: list[Holiday] = []
    for day, joined in _package_holidays(rules.country, year):
        # The package joins two holidays on one date with "; ".
        for name in joined.split("; "):
            if name == LIBERATION_DAY and rules.liberation_day == "never":
                entries.append(Holiday(day, name, observed=False, note="liberation_day = never"))
            elif name.lower() in rules.skip:
                entries.append(Holiday(day, name, observed=False, note="skipped in config"))
            else:
                entries.append(Holiday(day, name, observed=True))
    liberation = date(year, 5, 5)
    if rules.country == "NL" and all(e.name != LIBERATION_DAY for e in entries):
        # Listed even when worked, so an admin checking the year sees what became of it.
        if rules.liberation_day == "yearly":
            entries.append(Holiday(liberation, LIBERATION_DAY, True, "liberation_day = yearly"))
        elif rules.liberation_day == "never":
            entries.append(Holiday(liberation, LIBERATION_DAY, False, "liberation_day = never"))
        else:
            entries.append(Holiday(liberation, LIBERATION_DAY, False, "not a lustrum year"))
    return tuple(sorted(entries, key=lambda entry: entry.day))


@functools.cache
def _observed(rules: HolidayRules, year: int) -> dict[date, str]:
    return {entry.day: entry.name for entry in _holidays_for(rules, year) if entry.observed}
