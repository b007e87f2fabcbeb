"""Text matchers for rule conditions and field extractors, each able to say why it matched.

Matching is case-insensitive unless a matcher says `case_sensitive = true`. `contains` looks
for a substring. `words` looks for whole words and phrases after folding case and accents
("beëindiging" equals "beeindiging"); a trailing `*` matches any ending ("toestel*" matches
"toestellen"). `regex` runs on the `regex` engine with a time limit per search and a time
budget per mail: a pattern that backtracks badly on hostile input costs at most that limit and
counts as no match, and the explanation says it timed out, instead of stalling the pipeline.
`equals` compares whole values, `exists` asks whether there is a value at all, and
`min_words`/`max_words` count words. Every matcher returns a `Hit` whose `detail` quotes the
text it matched, because admins need to see *why* a rule fired.
"""

from __future__ import annotations

import bisect
import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import regex

# Our own patterns (tokenising, snippets) use the stdlib engine: they are fixed and linear.
_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")


def fold(word: str) -> str:
    """Lower case without accents, the form `words` compares."""
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def strip_accents(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def snippet(text: str, start: int, end: int, width: int = 30) -> str:
    """The matched text with a little context, on one line, for explanations."""
    before = _SPACES.sub(" ", text[max(0, start - width) : start]).lstrip()
    matched = _SPACES.sub(" ", text[start:end])
    after = _SPACES.sub(" ", text[end : end + width]).rstrip()
    prefix = "…" if start > width else ""
    suffix = "…" if end + width < len(text) else ""
    return f"{prefix}{before}[{matched}]{after}{suffix}"


class Budget:
    """Regex time left while classifying one mail: a per-search limit and a total."""

    def __init__(self, per_search: float, total: float) -> None:
        self.per_search = per_search
        self.deadline = time.monotonic() + total
        self.timeouts = 0

    def timeout(self) -> float:
        """Seconds the next search may take; 0 means the budget is spent."""
        return max(0.0, min(self.per_search, self.deadline - time.monotonic()))


class Text:
    """One value a matcher looks at, with its lower-case and word forms made once."""

    __slots__ = ("_index", "_lower", "_prefixed", "_sorted", "_tokens", "original")

    def __init__(self, original: str) -> None:
        self.original = original
        self._lower: str | None = None
        self._tokens: list[tuple[str, str, int, int]] | None = None
        self._index: dict[int, dict[str, list[int]]] = {}
        self._sorted: dict[int, list[str]] = {}
        self._prefixed: dict[tuple[int, str], list[int]] = {}

    @property
    def lower(self) -> str:
        if self._lower is None:
            self._lower = self.original.lower()
        return self._lower

    @property
    def tokens(self) -> list[tuple[str, str, int, int]]:
        """(folded, accent-stripped original, start, end) for every word."""
        if self._tokens is None:
            self._tokens = [
                (fold(m.group()), strip_accents(m.group()), m.start(), m.end())
                for m in _WORD.finditer(self.original)
            ]
        return self._tokens

    def positions(self, column: int) -> dict[str, list[int]]:
        """Where each word starts, by folded form (column 0) or as written (column 1)."""
        index = self._index.get(column)
        if index is None:
            index = {}
            for position, token in enumerate(self.tokens):
                index.setdefault(token[column], []).append(position)
            self._index[column] = index
        return index

    def prefixed(self, column: int, prefix: str) -> list[int]:
        """Where words starting with `prefix` start, in text order."""
        key = (column, prefix)
        found = self._prefixed.get(key)
        if found is None:
            index = self.positions(column)
            words = self._sorted.get(column)
            if words is None:
                words = self._sorted[column] = sorted(index)
            # Words sharing a prefix sit together in sorted order: find the run by bisection.
            start = bisect.bisect_left(words, prefix)
            found = []
            for word in words[start:]:
                if not word.startswith(prefix):
                    break
                found.extend(index[word])
            found.sort()
            self._prefixed[key] = found
        return found

    def word_count(self) -> int:
        """Words with at least one letter: phone numbers and dates do not make a description."""
        return sum(1 for token in self.tokens if not token[0].isdigit())


@dataclass(frozen=True)
class Hit:
    matched: bool
    detail: str
    # The matched value, for extractors: the text itself or a regex's first group.
    value: str = ""


class Matcher(Protocol):
    op: str

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit: ...


def _short(source: str, limit: int = 48) -> str:
    return source if len(source) <= limit else source[: limit - 1] + "…"


def _quote_list(items: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(f'"{item}"' for item in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


@dataclass(frozen=True)
class Contains:
    needles: tuple[str, ...]
    case_sensitive: bool = False
    op: str = "contains"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        for value in values:
            haystack = value.original if self.case_sensitive else value.lower
            for needle in self.needles:
                wanted = needle if self.case_sensitive else needle.lower()
                at = haystack.find(wanted)
                if at >= 0:
                    quoted = snippet(value.original, at, at + len(wanted))
                    return Hit(True, f'{label} contains "{needle}": {quoted}', needle)
        return Hit(False, f"{label} contains none of {_quote_list(self.needles)}")


@dataclass(frozen=True)
class Phrase:
    """A word or phrase of a `words` list, as folded words; `prefix` marks a trailing `*`."""

    source: str
    words: tuple[str, ...]
    prefix: tuple[bool, ...]

    @classmethod
    def parse(cls, source: str, case_sensitive: bool) -> Phrase:
        words: list[str] = []
        prefix: list[bool] = []
        for match in _WORD.finditer(source):
            word = match.group()
            words.append(strip_accents(word) if case_sensitive else fold(word))
            prefix.append(source[match.end() : match.end() + 1] == "*")
        return cls(source, tuple(words), tuple(prefix))


@dataclass(frozen=True)
class Words:
    phrases: tuple[Phrase, ...]
    case_sensitive: bool = False
    op: str = "words"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        for value in values:
            found = self._find(value)
            if found is not None:
                phrase, start, end = found
                quoted = snippet(value.original, start, end)
                return Hit(
                    True, f'{label} has "{phrase.source}": {quoted}', value.original[start:end]
                )
        sources = [phrase.source for phrase in self.phrases]
        return Hit(False, f"{label} has none of {_quote_list(sources)}")

    def _find(self, value: Text) -> tuple[Phrase, int, int] | None:
        tokens = value.tokens
        column = 1 if self.case_sensitive else 0
        index = value.positions(column)
        # The earliest occurrence in the text wins, whatever the order of the list.
        best: tuple[Phrase, int, int] | None = None
        for phrase in self.phrases:
            first = phrase.words[0]
            # Only look where the first word occurs: most phrases miss most mails.
            starts = value.prefixed(column, first) if phrase.prefix[0] else index.get(first, [])
            length = len(phrase.words)
            for i in starts:
                if i + length > len(tokens):
                    break
                if best is not None and tokens[i][2] >= best[1]:
                    break
                if all(
                    tokens[i + k][column].startswith(phrase.words[k])
                    if phrase.prefix[k]
                    else tokens[i + k][column] == phrase.words[k]
                    for k in range(1, length)
                ):
                    best = (phrase, tokens[i][2], tokens[i + length - 1][3])
                    break
        return best


@dataclass(frozen=True)
class Pattern:
    source: str
    compiled: regex.Pattern[str]


def compile_pattern(source: str, case_sensitive: bool) -> Pattern:
    """Compile an admin's pattern; raises `regex.error` with the engine's message."""
    flags = regex.VERSION0 | regex.MULTILINE
    if not case_sensitive:
        flags |= regex.IGNORECASE
    return Pattern(source, regex.compile(source, flags))


@dataclass(frozen=True)
class Regex:
    patterns: tuple[Pattern, ...]
    case_sensitive: bool = False
    op: str = "regex"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        timed_out: list[str] = []
        for value in values:
            for pattern in self.patterns:
                limit = budget.timeout()
                if limit <= 0:
                    return Hit(
                        False, f"{label}: regex not run, the time budget for this mail is spent"
                    )
                try:
                    found = pattern.compiled.search(value.original, timeout=limit)
                except TimeoutError:
                    budget.timeouts += 1
                    timed_out.append(pattern.source)
                    continue
                if found is not None:
                    quoted = snippet(value.original, found.start(), found.end())
                    # An extractor's value is the group named "value", else the whole match.
                    named = found.groupdict().get("value")
                    captured = named if named else found.group()
                    return Hit(
                        True, f"{label} matches /{_short(pattern.source)}/: {quoted}", captured
                    )
        if timed_out:
            return Hit(False, f"{label}: regex /{timed_out[0]}/ timed out (counted as no match)")
        sources = [f"/{_short(pattern.source)}/" for pattern in self.patterns]
        more = f" (+{len(sources) - 3} more)" if len(sources) > 3 else ""
        return Hit(False, f"{label} matches none of {', '.join(sources[:3])}{more}")


@dataclass(frozen=True)
class Equals:
    expected: tuple[str, ...]
    case_sensitive: bool = False
    op: str = "equals"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        for value in values:
            have = value.original.strip()
            for wanted in self.expected:
                same = have == wanted if self.case_sensitive else have.lower() == wanted.lower()
                if same:
                    return Hit(True, f'{label} is "{have}"', have)
        shown = [value.original for value in values]
        return Hit(
            False,
            f"{label} is {_quote_list(shown) if shown else 'empty'}, "
            f"not {_quote_list(self.expected)}",
        )


@dataclass(frozen=True)
class Exists:
    expected: bool
    op: str = "exists"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        present = [value for value in values if value.original.strip()]
        if present:
            shown = _SPACES.sub(" ", present[0].original.strip())[:60]
            return Hit(self.expected, f'{label} is present: "{shown}"', shown)
        return Hit(not self.expected, f"{label} is absent")


@dataclass(frozen=True)
class WordCount:
    minimum: int | None = None
    maximum: int | None = None
    op: str = "word count"

    def match(self, values: Sequence[Text], label: str, budget: Budget) -> Hit:
        count = sum(value.word_count() for value in values)
        low = self.minimum is None or count >= self.minimum
        high = self.maximum is None or count <= self.maximum
        bounds = []
        if self.minimum is not None:
            bounds.append(f"at least {self.minimum}")
        if self.maximum is not None:
            bounds.append(f"at most {self.maximum}")
        verdict = "" if low and high else "not "
        return Hit(low and high, f"{label} has {count} words, {verdict}{' and '.join(bounds)}")
