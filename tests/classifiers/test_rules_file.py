"""The rules file: loading, checking with file, line and fix, hashing, and all-or-nothing reload."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from mailintake.classifiers import (
    DEFAULT_RULES_PATH,
    RulesError,
    check_rules_file,
    load_rules,
    parse_rules,
    reload_rules,
    rules_hash,
)

GOOD = """\
version = 1

[defaults]
kind = "incident"

[fields.location]
extract = [{ labelled = ["Locatie"] }]

[require.kind]
incident = ["location"]

[[rule]]
name = "storing"
when.subject.words = ["storing"]
then = { kind = "incident" }
"""


def problems_of(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(RulesError) as caught:
        parse_rules(text, source="rules.toml")
    return [(problem.line, problem.message) for problem in caught.value.problems]


def test_default_rules_load_and_check_clean() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    assert check_rules_file(DEFAULT_RULES_PATH) == []
    assert rules.sha256 == hashlib.sha256(DEFAULT_RULES_PATH.read_bytes()).hexdigest()
    assert rules.answer_templates == {"user_admin_forms"}
    assert {"description", "location", "serial"} <= {f.name for f in rules.fields}


def test_rule_lines_point_at_their_rule_tables() -> None:
    rules = load_rules(DEFAULT_RULES_PATH)
    lines = DEFAULT_RULES_PATH.read_text().splitlines()
    for rule in rules.rules:
        assert lines[rule.line - 1].strip() == "[[rule]]"
        assert lines[rule.line].strip() == f'name = "{rule.name}"'


def test_syntax_error_names_the_line() -> None:
    broken = GOOD.replace('then = { kind = "incident" }', 'then = { kind = "incident" ')
    [(line, message)] = problems_of(broken)
    assert line == 15
    assert message.startswith("TOML syntax:")
    assert "check quotes, brackets and commas" in message


def test_unknown_condition_key_names_line_and_suggests_the_fix() -> None:
    [(line, message)] = problems_of(GOOD.replace("when.subject.", "when.subjet."))
    assert line == 14
    assert 'rule "storing"' in message
    assert "unknown condition key 'subjet'" in message
    assert "did you mean 'subject'?" in message


def test_bad_regex_names_the_line_of_the_pattern() -> None:
    text = GOOD.replace(
        'when.subject.words = ["storing"]',
        "when.any = [\n  { subject.words = [\"x\"] },\n  { body.regex = '(unclosed' },\n]",
    )
    [(line, message)] = problems_of(text)
    assert line == 16
    assert "bad regex '(unclosed'" in message and "missing )" in message


def test_unknown_action_key_lists_the_allowed_keys() -> None:
    [(line, message)] = problems_of(GOOD.replace("then = { kind", "then = { knd"))
    assert line == 15
    assert "unknown key 'knd'" in message and "did you mean 'kind'?" in message
    assert "allowed: kind, category" in message


def test_bad_kind_value_says_which_values_are_allowed() -> None:
    [(line, message)] = problems_of(GOOD.replace('kind = "incident" }', 'kind = "incidnet" }'))
    assert line == 15
    assert "'incidnet' is not allowed" in message and "'service_request'" in message


def test_unknown_required_field_is_reported_where_it_is_required() -> None:
    text = GOOD.replace('incident = ["location"]', 'incident = ["serial"]')
    [(line, message)] = problems_of(text)
    assert line == 10
    assert "unknown field 'serial'" in message and "[fields.serial]" in message


def test_every_problem_is_reported_in_one_check() -> None:
    text = GOOD + (
        '\n[[rule]]\nname = "storing"\nwhen.body.contains = []\nthen = {}\n'
        '\n[[rule]]\nname = "third"\nwhen.in_service_hours = "yes"\nthen = { spam = false }\n'
    )
    found = problems_of(text)
    messages = " | ".join(message for _, message in found)
    assert "used twice" in messages
    assert "contains needs a string or a non-empty list" in messages
    assert "then has no action" in messages
    assert "in_service_hours must be true or false" in messages
    assert "spam" in messages
    assert [line for line, _ in found] == sorted(line or 0 for line, _ in found)


def test_check_rules_file_reports_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    missing = check_rules_file(tmp_path / "nope.toml")
    assert len(missing) == 1 and "cannot read" in missing[0].message
    latin = tmp_path / "latin.toml"
    latin.write_bytes('description = "beëindiging"'.encode("latin-1"))
    [problem] = check_rules_file(latin)
    assert "not UTF-8" in problem.message and problem.file == str(latin)


def test_reload_keeps_the_same_object_when_the_file_did_not_change(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD)
    first = load_rules(path)
    assert reload_rules(first) is first
    assert first.sha256 == rules_hash(path)


def test_reload_of_a_bad_edit_raises_and_the_old_rules_stay_whole(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(GOOD)
    first = load_rules(path)
    path.write_text(GOOD.replace("when.subject.", "when.subjet."))
    with pytest.raises(RulesError):
        reload_rules(first)
    assert [rule.name for rule in first.rules] == ["storing"]
    path.write_text(GOOD.replace('"storing"]', '"storing", "outage"]'))
    second = reload_rules(first)
    assert second is not first and second.sha256 != first.sha256


def test_rule_set_is_immutable() -> None:
    rules = parse_rules(GOOD)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rules.rules = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        rules.required_by_kind["incident"] = ()  # type: ignore[index]
