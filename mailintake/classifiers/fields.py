"""Report fields and completeness: what a report must contain and whether it does.

The rules file defines fields (`description`, `location`, `serial`, …), each with extractors
tried in order: a `Label:` line (`labelled = ["Locatie", "Location"]`), a regex, words, a
word count, or a site of the customer. An extractor holds when all its tests hold; the first
that holds gives the field's value (a regex's group named `value`, else what matched; the
text itself for an extractor with `min_words`) and says how it was found. Kinds and categories
name the fields they require; `Completeness` lists the required ones that are missing. A report with
missing fields is incomplete: its response clock waits until a later mail supplies them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mailintake.classifiers.matching import Budget, Hit, Matcher, Phrase, Text, WordCount, Words

FIELD_SOURCES = ("subject", "body")


@dataclass(frozen=True)
class FoundField:
    """A field found in a mail: its value and how it was found."""

    name: str
    value: str
    how: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "value": self.value, "how": self.how}


@dataclass(frozen=True)
class Completeness:
    """Which fields a report needs, which were found, and which are still missing."""

    required: tuple[str, ...] = ()
    found: tuple[FoundField, ...] = ()
    missing: tuple[str, ...] = ()

    @property
    def incomplete(self) -> bool:
        return bool(self.missing)

    def value(self, name: str) -> str | None:
        return next((f.value for f in self.found if f.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, so the ticket can keep it until the customer's reply is checked."""
        return {
            "required": list(self.required),
            "found": [f.to_dict() for f in self.found],
            "missing": list(self.missing),
            "incomplete": self.incomplete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Completeness:
        return cls(
            required=tuple(data.get("required", ())),
            found=tuple(FoundField(**f) for f in data.get("found", ())),
            missing=tuple(data.get("missing", ())),
        )


@dataclass(frozen=True)
class Labelled:
    """Finds a `Label: value` line, such as `Locatie: Venlo, Celsiusweg 31`."""

    labels: tuple[str, ...]
    compiled: re.Pattern[str] = field(repr=False, compare=False)
    op: str = "labelled"

    @classmethod
    def build(cls, labels: Sequence[str]) -> Labelled:
        alternatives = "|".join(re.escape(label.strip()) for label in labels)
        # Fixed shape, escaped labels: safe for the stdlib engine. Quote marks and list bullets
        # before the label are allowed because people paste forms into replies.
        pattern = rf"^[ \t>*\-•]*(?:{alternatives})[ \t]*[:：][ \t]*(\S[^\n]*)"
        return cls(tuple(labels), re.compile(pattern, re.IGNORECASE | re.MULTILINE))

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        for value in values:
            found = self.compiled.search(value.original)
            if found:
                line = found.group(0).strip()
                return Hit(True, f'{label} has the line "{line[:80]}"', found.group(1).strip())
        return Hit(False, f"{label} has no line starting with {', '.join(self.labels[:4])}:")


@dataclass(frozen=True)
class Extractor:
    """One way to find a field: every test must hold; the first test with a value gives it."""

    name: str
    sources: tuple[str, ...]
    tests: tuple[Matcher, ...]
    customer_sites: bool = False

    def find(
        self, texts: Mapping[str, Text], sites: Sequence[str], budget: Budget
    ) -> tuple[str, str] | None:
        values = [texts[source] for source in self.sources if source in texts]
        label = " and ".join(self.sources)
        details: list[str] = []
        value = ""
        tests: list[Matcher] = list(self.tests)
        if self.customer_sites:
            if not sites:
                return None
            phrases = tuple(Phrase.parse(site, False) for site in sites)
            tests.append(Words(tuple(p for p in phrases if p.words)))
        for test in tests:
            hit = test.match(values, label, budget)
            if not hit.matched:
                return None
            details.append(hit.detail)
            if not value and not isinstance(test, WordCount):
                value = hit.value
        if values and (not value or any(isinstance(test, WordCount) for test in tests)):
            # A field found by its amount of text (a description) is that text.
            value = " ".join(values[-1].original.split())[:200]
        return value, f"{self.name}: {'; '.join(details)}"


@dataclass(frozen=True)
class FieldDef:
    """A field of a report as the rules file defines it."""

    name: str
    description: str
    ask: tuple[tuple[str, str], ...]
    extractors: tuple[Extractor, ...]

    def find(
        self, texts: Mapping[str, Text], sites: Sequence[str], budget: Budget
    ) -> FoundField | None:
        for extractor in self.extractors:
            found = extractor.find(texts, sites, budget)
            if found is not None:
                return FoundField(self.name, found[0], found[1])
        return None


def extract(
    fields: Sequence[FieldDef],
    texts: Mapping[str, Text],
    sites: Sequence[str],
    budget: Budget,
) -> tuple[FoundField, ...]:
    """Every field of `fields` that the texts contain."""
    found = (definition.find(texts, sites, budget) for definition in fields)
    return tuple(f for f in found if f is not None)


def assess(required: Sequence[str], found: Sequence[FoundField]) -> Completeness:
    names = {f.name for f in found}
    missing = tuple(name for name in required if name not in names)
    return Completeness(tuple(required), tuple(found), missing)
