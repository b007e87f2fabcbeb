"""Rule conditions: what a `when` table says, how it is parsed, and how it is judged.

A condition table is the AND of its keys. A key is either a subject of the mail (`from`,
`subject`, `body`, `header."Name"`, …) with a table of matchers, `in_service_hours` with true or
false, or a combinator: `all = [tables]`, `any = [tables]`, `not = table`. Judging a condition
returns an `Outcome` that says what matched which text, so the classification can explain
itself. Parsing collects every mistake with its key path instead of stopping at the first.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import regex

from mailintake.classifiers.mailtext import full_text, new_text
from mailintake.classifiers.matching import (
    Budget,
    Contains,
    Equals,
    Exists,
    Matcher,
    Phrase,
    Regex,
    Text,
    WordCount,
    Words,
    compile_pattern,
)
from mailintake.classifiers.tomlpos import KeyPath
from mailintake.mail import ParsedMail

# The parts of a mail a condition can look at, and what each one is.
SUBJECTS: dict[str, str] = {
    "from": "the sender's address (lower case)",
    "from_domain": "the domain of the sender's address",
    "from_name": "the sender's display name",
    "to": "each To address",
    "cc": "each Cc address",
    "recipients": "each To and Cc address",
    "reply_to": "each Reply-To address",
    "subject": "the subject",
    "body": "the text the sender wrote in this mail, without quoted history",
    "subject_or_body": "the subject and the body; a matcher holds if it holds for either",
    "full_body": "the whole text body, quoted history included",
    "attachment_name": "each attachment's file name",
    "attachment_type": "each attachment's content type",
    "customer": "the customer's name (empty when the sender is unknown)",
    "plan": "the customer's plan name (none when the sender is unknown)",
    "kind": "the kind set by the rules above this one (empty if none set it yet)",
    "category": "the category set by the rules above this one",
    "tags": "each tag added by the rules above this one",
}
# Subjects that change while the rules are judged, so they are never cached.
_LIVE_SUBJECTS = frozenset({"customer", "plan", "kind", "category", "tags"})
COMBINATORS = ("all", "any", "not")
SPECIAL_KEYS = ("header", "in_service_hours")
MATCHER_KEYS = ("contains", "words", "regex", "equals", "exists", "min_words", "max_words")
ALL_CONDITION_KEYS = (*SUBJECTS, *SPECIAL_KEYS, *COMBINATORS)


class MailView:
    """The texts of one mail as conditions see them, each made once and kept."""

    def __init__(
        self,
        mail: ParsedMail,
        *,
        in_service_hours: bool,
        customer: str | None,
        plan: str,
        max_chars: int,
    ) -> None:
        self.mail = mail
        self.in_service_hours = in_service_hours
        self.customer = customer
        self.plan = plan
        self.max_chars = max_chars
        # The decision so far, kept up to date by the classifier as rules hit.
        self.kind: str | None = None
        self.category: str | None = None
        self.tags: list[str] = []
        self._cache: dict[str, tuple[Text, ...]] = {}

    def values(self, subject: str, header: str | None = None) -> tuple[Text, ...]:
        if subject in _LIVE_SUBJECTS:
            return self._live(subject)
        if subject == "subject_or_body":
            return (*self.values("subject"), *self.values("body"))
        key = f"header:{header.lower()}" if header is not None else subject
        cached = self._cache.get(key)
        if cached is None:
            raw = self._raw(subject, header)
            # Long bodies are cut: a rule needs the start of a mail, and cutting bounds the work.
            cached = tuple(Text(value[: self.max_chars]) for value in raw if value)
            self._cache[key] = cached
        return cached

    def _live(self, subject: str) -> tuple[Text, ...]:
        if subject == "tags":
            return tuple(Text(tag) for tag in self.tags)
        if subject == "plan":
            return (Text(self.plan),)
        value = {"customer": self.customer, "kind": self.kind, "category": self.category}[subject]
        return (Text(value),) if value else ()

    def _raw(self, subject: str, header: str | None) -> Sequence[str]:
        mail = self.mail
        if header is not None:
            return mail.header_values(header)
        match subject:
            case "from":
                return (mail.from_address,)
            case "from_domain":
                return (mail.sender_domain,)
            case "from_name":
                return (mail.from_name,)
            case "to":
                return mail.to
            case "cc":
                return mail.cc
            case "recipients":
                return (*mail.to, *mail.cc)
            case "reply_to":
                return mail.reply_to
            case "subject":
                return (mail.subject,)
            case "body":
                return (new_text(mail),)
            case "full_body":
                return (full_text(mail),)
            case "attachment_name":
                return tuple(a.filename for a in mail.attachments if a.filename)
            case "attachment_type":
                return tuple(a.content_type for a in mail.attachments)
        raise KeyError(subject)


@dataclass(frozen=True)
class Outcome:
    """Whether a condition held, and why, with the outcomes of its parts."""

    matched: bool
    detail: str
    parts: tuple[Outcome, ...] = ()


class Condition(Protocol):
    def evaluate(self, view: MailView, budget: Budget) -> Outcome: ...


@dataclass(frozen=True)
class Test:
    """One subject of the mail against its matchers; every matcher must hold."""

    subject: str
    matchers: tuple[Matcher, ...]
    header: str | None = None

    @property
    def label(self) -> str:
        return f'header "{self.header}"' if self.header is not None else self.subject

    def evaluate(self, view: MailView, budget: Budget) -> Outcome:
        values = view.values(self.subject, self.header)
        details = []
        for matcher in self.matchers:
            hit = matcher.match(values, self.label, budget)
            if not hit.matched:
                return Outcome(False, hit.detail)
            details.append(hit.detail)
        return Outcome(True, "; ".join(details))


@dataclass(frozen=True)
class InServiceHours:
    expected: bool

    def evaluate(self, view: MailView, budget: Budget) -> Outcome:
        where = "in" if view.in_service_hours else "outside"
        return Outcome(view.in_service_hours == self.expected, f"arrived {where} service hours")


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Condition, ...]

    def evaluate(self, view: MailView, budget: Budget) -> Outcome:
        outcomes = []
        for part in self.parts:
            outcome = part.evaluate(view, budget)
            outcomes.append(outcome)
            if not outcome.matched:
                # Like `and` in Python: the rest is not judged once one part fails.
                return Outcome(False, outcome.detail, tuple(outcomes))
        return Outcome(True, " and ".join(o.detail for o in outcomes), tuple(outcomes))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def evaluate(self, view: MailView, budget: Budget) -> Outcome:
        outcomes = []
        for part in self.parts:
            outcome = part.evaluate(view, budget)
            outcomes.append(outcome)
            if outcome.matched:
                return Outcome(True, outcome.detail, tuple(outcomes))
        joined = "; ".join(o.detail for o in outcomes)
        return Outcome(False, f"none of {len(outcomes)} alternatives: {joined}", tuple(outcomes))


@dataclass(frozen=True)
class NotOf:
    part: Condition

    def evaluate(self, view: MailView, budget: Budget) -> Outcome:
        outcome = self.part.evaluate(view, budget)
        verdict = "excluded because" if outcome.matched else "not excluded:"
        return Outcome(not outcome.matched, f"{verdict} {outcome.detail}", (outcome,))


def suggestion(word: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _type_name(value: Any) -> str:
    return {
        str: "a string",
        bool: "true/false",
        int: "a number",
        list: "a list",
        dict: "a table",
    }.get(type(value), type(value).__name__)


class ConditionParser:
    """Turns `when` tables into conditions, collecting (key path, message) problems."""

    def __init__(self) -> None:
        self.problems: list[tuple[KeyPath, str]] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append((tuple(path), message))

    def table(self, table: Any, path: KeyPath) -> Condition | None:
        """A condition table; None when it is empty or wrong (wrong ones are recorded)."""
        path = tuple(path)
        if not isinstance(table, dict):
            self.problem(
                path,
                f"a condition must be a table such as {{ body.words = [...] }}, "
                f"not {_type_name(table)}",
            )
            return None
        parts: list[Condition] = []
        for key, value in table.items():
            part = self._key(key, value, (*path, key))
            if part is not None:
                parts.append(part)
        if len(parts) == 1:
            return parts[0]
        return AllOf(tuple(parts)) if parts else None

    def _key(self, key: str, value: Any, path: tuple[str | int, ...]) -> Condition | None:
        if key in ("all", "any"):
            return self._combination(key, value, path)
        if key == "not":
            if not isinstance(value, dict):
                self.problem(
                    path,
                    "'not' takes one condition table, e.g. not = { body.words = "
                    '["test"] }; to exclude several, write not = { any = [...] }',
                )
                return None
            inner = self.table(value, path)
            return NotOf(inner) if inner is not None else None
        if key == "in_service_hours":
            if not isinstance(value, bool):
                self.problem(
                    path, f"in_service_hours must be true or false, not {_type_name(value)}"
                )
                return None
            return InServiceHours(value)
        if key == "header":
            return self._headers(value, path)
        if key in SUBJECTS:
            matchers = self.matchers(value, path, key)
            return Test(key, matchers) if matchers else None
        self.problem(
            path,
            f"unknown condition key '{key}'{suggestion(key, ALL_CONDITION_KEYS)}; use one of "
            f'{", ".join(SUBJECTS)}, header."Name", in_service_hours, or all/any/not',
        )
        return None

    def _combination(self, key: str, value: Any, path: tuple[str | int, ...]) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.problem(
                path,
                f"'{key}' needs a non-empty list of condition tables, e.g. "
                f'{key} = [ {{ subject.words = ["storing"] }}, '
                f'{{ body.words = ["outage"] }} ]',
            )
            return None
        parts = [self.table(item, (*path, index)) for index, item in enumerate(value)]
        kept = tuple(part for part in parts if part is not None)
        if len(kept) != len(parts):
            return None
        return AllOf(kept) if key == "all" else AnyOf(kept)

    def _headers(self, value: Any, path: tuple[str | int, ...]) -> Condition | None:
        if not isinstance(value, dict) or not value:
            self.problem(
                path,
                "'header' needs a table of header names, e.g. "
                "header.\"Auto-Submitted\" = { regex = '^auto-' }",
            )
            return None
        tests: list[Condition] = []
        for name, matchers in value.items():
            found = self.matchers(matchers, (*path, name), f'header "{name}"')
            if found:
                tests.append(Test("header", found, header=name))
        if len(tests) != len(value):
            return None
        return tests[0] if len(tests) == 1 else AllOf(tuple(tests))

    def matchers(self, value: Any, path: KeyPath, label: str) -> tuple[Matcher, ...]:
        """The matchers of a `{ words = [...], regex = ... }` table; empty if it is wrong."""
        path = tuple(path)
        if not isinstance(value, dict):
            self.problem(
                path,
                f"{label} needs a table of matchers, e.g. {label} = "
                f'{{ words = ["..."] }}, not {_type_name(value)}',
            )
            return ()
        case_sensitive = value.get("case_sensitive", False)
        if not isinstance(case_sensitive, bool):
            self.problem((*path, "case_sensitive"), "case_sensitive must be true or false")
            case_sensitive = False
        found: list[Matcher] = []
        ok = True
        for key, argument in value.items():
            if key == "case_sensitive":
                continue
            matcher = self._matcher(key, argument, (*path, key), case_sensitive)
            if matcher is None:
                ok = False
            else:
                found.append(matcher)
        if ok and not found:
            self.problem(path, f"{label} has no matcher; add one of {', '.join(MATCHER_KEYS)}")
        return tuple(found) if ok else ()

    def _matcher(
        self, key: str, argument: Any, path: tuple[str | int, ...], case_sensitive: bool
    ) -> Matcher | None:
        if key in ("min_words", "max_words"):
            if isinstance(argument, bool) or not isinstance(argument, int) or argument < 0:
                self.problem(path, f"{key} must be a whole number of 0 or more")
                return None
            if key == "min_words":
                return WordCount(minimum=argument)
            return WordCount(maximum=argument)
        if key == "exists":
            if not isinstance(argument, bool):
                self.problem(path, "exists must be true or false")
                return None
            return Exists(argument)
        if key not in ("contains", "words", "regex", "equals"):
            self.problem(
                path,
                f"unknown matcher '{key}'{suggestion(key, MATCHER_KEYS)}; use one "
                f"of {', '.join(MATCHER_KEYS)} (and case_sensitive = true if needed)",
            )
            return None
        strings = self._strings(argument, path, key)
        if strings is None:
            return None
        if key == "contains":
            return Contains(strings, case_sensitive)
        if key == "equals":
            return Equals(strings, case_sensitive)
        if key == "words":
            return self._words(strings, path, case_sensitive)
        return self._regex(strings, path, case_sensitive)

    def _strings(
        self, argument: Any, path: tuple[str | int, ...], key: str
    ) -> tuple[str, ...] | None:
        items = [argument] if isinstance(argument, str) else argument
        if not isinstance(items, list) or not items:
            self.problem(path, f"{key} needs a string or a non-empty list of strings")
            return None
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                self.problem(
                    (*path, index),
                    f"{key} entries must be non-empty strings, not {_type_name(item)}",
                )
                return None
        return tuple(items)

    def _words(
        self, strings: tuple[str, ...], path: tuple[str | int, ...], case_sensitive: bool
    ) -> Words | None:
        phrases = []
        for index, source in enumerate(strings):
            phrase = Phrase.parse(source, case_sensitive)
            if not phrase.words:
                self.problem(
                    (*path, index),
                    f'word "{source}" has no letters or digits; '
                    "use contains or regex for punctuation",
                )
                return None
            phrases.append(phrase)
        return Words(tuple(phrases), case_sensitive)

    def _regex(
        self, strings: tuple[str, ...], path: tuple[str | int, ...], case_sensitive: bool
    ) -> Regex | None:
        patterns = []
        for index, source in enumerate(strings):
            try:
                patterns.append(compile_pattern(source, case_sensitive))
            except regex.error as error:
                self.problem(
                    (*path, index) if len(strings) > 1 else path,
                    f"bad regex '{source}': {error}; fix the pattern (write it in single "
                    "quotes '...' so TOML keeps backslashes as they are)",
                )
                return None
        return Regex(tuple(patterns), case_sensitive)
