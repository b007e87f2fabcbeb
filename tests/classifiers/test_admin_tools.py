"""Admin tools: key lines for messages, checks across files, and the human explanation."""

from __future__ import annotations

from mailintake.classifiers import (
    classify,
    cross_check,
    explain,
    load_rules,
    parse_customers,
    parse_rules,
)
from mailintake.classifiers.tomlpos import TomlLocator
from tests.classifiers.classifier_mail import make_mail

DOCUMENT = """\
# comment [[rule]]
top = 1

[fields.location]
extract = [
  { labelled = ["Locatie"] },
  { regex = 'x', name = "second" },
]

[[rule]]
name = "a"
then = { kind = "incident" }

[[rule]]
name = "b"
when.any = [ { subject.words = ["x, y"] }, { body.regex = '[' } ]
[rule.then]
kind = "change"

[[customer]]
[[customer.contacts]]
email = "x"
[[customer.contacts]]
email = "y"
"""


def test_locator_finds_tables_keys_and_array_elements() -> None:
    locate = TomlLocator(DOCUMENT).line_of
    assert locate(("top",)) == 2
    assert locate(("fields", "location", "extract", 1, "regex")) == 7
    assert locate(("rule", 0)) == 10
    assert locate(("rule", 0, "then", "kind")) == 12
    assert locate(("rule", 1, "when", "any", 1, "body", "regex")) == 16
    assert locate(("rule", 1, "then", "kind")) == 18
    assert locate(("customer", 0, "contacts", 1, "email")) == 24
    # Deeper than the text goes: the deepest part found.
    assert locate(("rule", 1, "when", "any", 7)) == 16
    assert locate(("nothing", "here")) == 1


def test_cross_check_names_unknown_customers_and_templates() -> None:
    rules = parse_rules(
        '[[rule]]\nname = "m"\nthen = { customer = "Ghost", answer = "forms" }\n',
        source="rules.toml",
    )
    customers = parse_customers('[[customer]]\nname = "Real"\n', source="customers.toml")
    found = cross_check(rules, customers, templates={"user_admin_forms"})
    assert [(p.file, p.line) for p in found] == [("rules.toml", 1), ("rules.toml", 1)]
    assert 'customer "Ghost", which is not in customers.toml' in found[0].message
    assert 'template "forms", which does not exist' in found[1].message
    assert cross_check(rules) == []


def test_explain_shows_fields_notes_and_every_rule() -> None:
    rules = load_rules()
    mail = make_mail("Receptie: geen kiestoon op het toestel.\nLocatie: Zwolle, Melkmarkt 22")
    result = classify(mail, rules=rules, received_in_service_hours=False)
    text = explain(result, verbose=True)
    assert "category:    CAT II" in text and 'rule "cat2-crucial-place"' in text
    assert "complete:    yes" in text
    assert 'found location = "Zwolle, Melkmarkt 22"' in text
    assert "sha256 " + rules.sha256[:12] in text
    assert "is not a known customer" in text
    for rule in rules.rules:
        assert f" {rule.name} (line {rule.line}):" in text
