"""Matchers: what each operator matches, how it explains itself, and that regexes cannot hang."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailintake.classifiers.matching import (
    Budget,
    Contains,
    Equals,
    Exists,
    Phrase,
    Regex,
    Text,
    WordCount,
    Words,
    compile_pattern,
)


def budget() -> Budget:
    return Budget(per_search=0.05, total=1.0)


def words(*sources: str, case_sensitive: bool = False) -> Words:
    return Words(tuple(Phrase.parse(s, case_sensitive) for s in sources), case_sensitive)


def test_words_match_whole_words_ignoring_case_and_accents() -> None:
    hit = words("beeindiging").match([Text("Beëindiging dienstverband")], "subject", budget())
    assert hit.matched
    assert '"beeindiging"' in hit.detail and "[Beëindiging]" in hit.detail


def test_words_do_not_match_inside_other_words() -> None:
    assert not words("bellen").match([Text("graag terugbellen")], "body", budget()).matched


def test_phrase_matches_consecutive_words_across_line_breaks() -> None:
    text = Text("Sinds vanmorgen kan\nniemand kan bellen hier")
    assert words("niemand kan bellen").match([text], "body", budget()).matched
    assert not words("kan niemand").match([Text("niemand kan")], "body", budget()).matched


def test_trailing_star_matches_any_ending() -> None:
    hit = words("alle toestel*").match([Text("Alle toestellen zijn stuk")], "body", budget())
    assert hit.matched and hit.value == "Alle toestellen"


def test_case_sensitive_words_tell_a_town_from_a_word() -> None:
    town = words("Hoorn", case_sensitive=True)
    assert town.match([Text("winkel in Hoorn")], "body", budget()).matched
    assert not town.match([Text("de hoorn opnemen")], "body", budget()).matched


def test_contains_finds_substrings_case_insensitively() -> None:
    hit = Contains(("[ticket#",)).match([Text("Re: [Ticket#123] x")], "subject", budget())
    assert hit.matched and "[[Ticket#]" in hit.detail


def test_equals_compares_whole_values() -> None:
    matcher = Equals(("example.nl",))
    assert matcher.match([Text("Example.NL")], "from_domain", budget()).matched
    assert not matcher.match([Text("mail.example.nl")], "from_domain", budget()).matched


def test_exists_tells_present_from_absent() -> None:
    assert Exists(True).match([Text("yes")], 'header "X-Autoreply"', budget()).matched
    assert not Exists(True).match([], 'header "X-Autoreply"', budget()).matched
    assert Exists(False).match([Text("  ")], "header", budget()).matched


def test_word_count_ignores_numbers() -> None:
    text = [Text("Bel me 06 1234 5678 nu")]
    assert WordCount(minimum=3).match(text, "body", budget()).matched
    assert not WordCount(minimum=4).match(text, "body", budget()).matched
    assert WordCount(maximum=3).match(text, "body", budget()).matched


def test_regex_gives_the_value_group_or_the_whole_match() -> None:
    named = Regex((compile_pattern(r"toestel (?P<value>\d+)", False),))
    assert named.match([Text("Toestel 214 is stuk")], "body", budget()).value == "214"
    plain = Regex((compile_pattern(r"\d{4} ?[A-Z]{2}", True),))
    assert plain.match([Text("7411 BT Deventer")], "body", budget()).value == "7411 BT"


def test_catastrophic_regex_times_out_and_counts_as_no_match() -> None:
    hostile = Regex((compile_pattern(r"(a|aa)+$", False),))
    started = time.monotonic()
    hit = hostile.match([Text("a" * 5000 + "!")], "body", Budget(per_search=0.05, total=1.0))
    assert time.monotonic() - started < 1.0
    assert not hit.matched
    assert "timed out" in hit.detail


def test_spent_budget_stops_further_regex_searches() -> None:
    spent = Budget(per_search=0.05, total=0.0)
    hit = Regex((compile_pattern("x", False),)).match([Text("x")], "body", spent)
    assert not hit.matched and "budget" in hit.detail


@pytest.mark.parametrize("pattern", [r"(x+x+)+y", r"^(\w+\s?)*$", r"(a*)*b"])
def test_hostile_patterns_are_bounded_by_the_per_search_limit(pattern: str) -> None:
    matcher = Regex((compile_pattern(pattern, False),))
    started = time.monotonic()
    matcher.match([Text("x" * 3000 + "a" * 3000 + " !")], "body", Budget(0.02, 1.0))
    assert time.monotonic() - started < 0.5


@settings(max_examples=60, deadline=None)
@given(text=st.text(max_size=300), phrase=st.text(min_size=1, max_size=20))
def test_words_never_raise_and_agree_with_themselves(text: str, phrase: str) -> None:
    parsed = Phrase.parse(phrase, False)
    if not parsed.words:
        return
    matcher = Words((parsed,))
    first = matcher.match([Text(text)], "body", budget())
    second = matcher.match([Text(text)], "body", budget())
    assert first == second
    if first.matched:
        assert first.value
