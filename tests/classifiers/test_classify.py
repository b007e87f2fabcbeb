"""Judging rules: precedence, conditions on every subject, defaults, and the explanation."""

from __future__ import annotations

import json

from mailintake.classifiers import (
    Classification,
    CustomerBook,
    RuleSet,
    as_json,
    classify,
    explain,
    parse_customers,
    parse_rules,
)
from mailintake.mail import Attachment, ParsedMail
from tests.classifiers.classifier_mail import make_mail

FIELDS = """\
[fields.location]
extract = [{ labelled = ["Locatie", "Location"] }]
"""


def rules_of(body: str, head: str = "") -> RuleSet:
    return parse_rules(f"{head}\n{FIELDS}\n{body}", source="test.toml")


def run(
    rules_text: str,
    mail: ParsedMail,
    *,
    head: str = "",
    in_hours: bool = True,
    customers: CustomerBook | None = None,
) -> Classification:
    return classify(
        mail,
        rules=rules_of(rules_text, head),
        customers=customers,
        received_in_service_hours=in_hours,
    )


TWO_CATEGORIES = """
[[rule]]
name = "whole-company"
when.body.words = ["niemand kan bellen"]
then = { kind = "incident", category = "CAT III", tags = ["calamity"] }

[[rule]]
name = "reception"
when.body.words = ["receptie"]
then = { kind = "incident", category = "CAT II", tags = ["crucial"] }
"""


def test_first_rule_that_sets_a_value_wins_and_later_ones_are_recorded_as_ignored() -> None:
    mail = make_mail("Niemand kan bellen, ook de receptie niet.")
    result = run(TWO_CATEGORIES, mail)
    assert (result.kind, result.category) == ("incident", "CAT III")
    assert dict(result.decided_by)["category"] == "whole-company"
    reception = result.explanation[1]
    assert reception.hit
    assert 'category = CAT II ignored: already CAT III by rule "whole-company"' in reception.ignored


def test_tags_and_requirements_add_up_over_all_hits() -> None:
    result = run(TWO_CATEGORIES, make_mail("Niemand kan bellen, ook de receptie niet."))
    assert result.tags == ("calamity", "crucial")


def test_stop_ends_the_judging_and_later_rules_are_not_judged() -> None:
    rules = """
[[rule]]
name = "bounce"
when.from.regex = '^mailer-daemon@'
then = { auto_reply = true, tags = ["bounce"], stop = true }

[[rule]]
name = "storing"
when.subject.words = ["storing"]
then = { kind = "incident" }
"""
    result = run(rules, make_mail(subject="storing", sender="mailer-daemon@mx.example.nl"))
    assert result.auto_reply and not result.acknowledge
    assert result.hits == ("bounce",)
    skipped = result.explanation[1]
    assert not skipped.evaluated and 'rule "bounce" stopped' in skipped.why
    # Mail that becomes no ticket work needs no fields.
    assert result.required == () and not result.incomplete


def test_defaults_apply_when_no_rule_decides() -> None:
    head = '[defaults]\nkind = "incident"\ncategory = "CAT I"\n'
    head += '[require.kind]\nincident = ["location"]'
    result = run(TWO_CATEGORIES, make_mail("Mijn toestel doet raar."), head=head)
    assert (result.kind, result.category) == ("incident", "CAT I")
    assert dict(result.decided_by) == {"kind": "[defaults]", "category": "[defaults]"}
    assert result.missing == ("location",) and result.incomplete
    assert any("[defaults] kind applies" in note for note in result.notes)


def test_without_defaults_a_mail_no_rule_knows_is_other() -> None:
    result = run(TWO_CATEGORIES, make_mail("Hallo"))
    assert (result.kind, result.category) == ("other", None)


def test_only_incidents_keep_a_category() -> None:
    rules = """
[[rule]]
name = "question"
when.body.words = ["vraag"]
then = { kind = "service_request" }

[[rule]]
name = "reception"
when.body.words = ["receptie"]
then = { category = "CAT II" }
"""
    result = run(rules, make_mail("Een vraag over de receptie."))
    assert (result.kind, result.category) == ("service_request", None)
    assert any("only incidents have a category" in note for note in result.notes)


def test_answer_and_close_mean_no_acknowledgement_and_no_fields() -> None:
    head = '[require.kind]\nuser_admin = ["location"]'
    rules = """
[[rule]]
name = "users"
when.body.words = ["uit dienst"]
then = { kind = "user_admin", answer = "user_admin_forms", close = true }
"""
    result = run(rules, make_mail("Jan is uit dienst."), head=head)
    assert result.answer_template == "user_admin_forms"
    assert result.close and not result.acknowledge and not result.incomplete


def test_header_attachment_recipient_and_service_hours_conditions() -> None:
    rules = """
[[rule]]
name = "auto"
when.header."Auto-Submitted".regex = '^auto-'
then = { tags = ["auto"] }

[[rule]]
name = "pdf"
when.attachment_type.equals = "application/pdf"
when.attachment_name.regex = 'factuur.*\\.pdf$'
then = { tags = ["invoice"] }

[[rule]]
name = "cc-billing"
when.cc.contains = "billing@"
then = { tags = ["billing"] }

[[rule]]
name = "night"
when.in_service_hours = false
then = { tags = ["after-hours"] }
"""
    mail = make_mail(
        "zie bijlage",
        headers=(("Auto-Submitted", "auto-generated"),),
        attachments=(Attachment("Factuur-2026-04.pdf", "application/pdf", 1200),),
        cc=("billing@example.nl",),
    )
    assert run(rules, mail, in_hours=False).tags == ("auto", "invoice", "billing", "after-hours")
    assert run(rules, mail, in_hours=True).tags == ("auto", "invoice", "billing")


def test_any_all_not_combine_conditions() -> None:
    rules = """
[[rule]]
name = "outage"
when.any = [
  { subject.words = ["storing"] },
  { all = [ { body.words = ["toestel"] }, { body.words = ["werkt niet"] } ] },
]
when.not.body.words = ["geen storing"]
then = { kind = "incident" }
"""
    assert run(rules, make_mail(subject="Storing")).kind == "incident"
    assert run(rules, make_mail("Het toestel werkt niet.")).kind == "incident"
    assert run(rules, make_mail("Het toestel werkt.")).kind == "other"
    assert run(rules, make_mail("Dit is geen storing", subject="storing?")).kind == "other"


def test_later_rules_see_the_decision_so_far() -> None:
    rules = """
[[rule]]
name = "fault"
when.body.words = ["kapot"]
then = { tags = ["fault"] }

[[rule]]
name = "question-unless-fault"
when.not.tags.equals = "fault"
when.body.words = ["vraag"]
then = { kind = "service_request" }

[[rule]]
name = "incident-if-fault"
when.tags.equals = "fault"
when.kind.exists = false
then = { kind = "incident" }
"""
    assert run(rules, make_mail("Een vraag: toestel kapot")).kind == "incident"
    assert run(rules, make_mail("Een vraag over de app")).kind == "service_request"


def test_quoted_history_is_not_the_body_but_is_the_full_body() -> None:
    rules = """
[[rule]]
name = "body"
when.body.words = ["storing"]
then = { tags = ["in-body"] }

[[rule]]
name = "full"
when.full_body.words = ["storing"]
then = { tags = ["in-full-body"] }
"""
    mail = make_mail("Dank, het werkt weer.", quoted="> Er is een storing gemeld")
    assert run(rules, mail).tags == ("in-full-body",)


def test_html_only_mail_is_read_as_text() -> None:
    mail = ParsedMail(
        message_id=None,
        subject="",
        from_address="a@example.nl",
        html="<html><style>p{}</style><body><p>Niemand kan&nbsp;bellen</p></body></html>",
    )
    assert run(TWO_CATEGORIES, mail).category == "CAT III"


CUSTOMERS = """
[[customer]]
name = "Acme"
plan = "premium"
domains = ["acme.nl"]
language = "en"
sites = ["Hengelo"]

[[customer]]
name = "Monitoring Klant"
plan = "standard"
"""


def test_the_sender_decides_the_customer_and_a_rule_can_override_it() -> None:
    customers = parse_customers(CUSTOMERS)
    rules = """
[[rule]]
name = "premium-only"
when.plan.equals = "premium"
then = { tags = ["premium"] }

[[rule]]
name = "monitoring"
when.from.equals = "alerts@monitor.example"
then = { customer = "Monitoring Klant" }

[[rule]]
name = "standard-after-assignment"
when.customer.equals = "Monitoring Klant"
then = { tags = ["assigned"] }
"""
    acme = run(rules, make_mail("x", sender="jan@acme.nl"), customers=customers)
    assert (acme.customer, acme.plan, acme.language, acme.tags) == (
        "Acme",
        "premium",
        "en",
        ("premium",),
    )
    alert = run(rules, make_mail("x", sender="alerts@monitor.example"), customers=customers)
    assert (alert.customer, alert.plan) == ("Monitoring Klant", "standard")
    assert alert.tags == ("assigned",)
    assert dict(alert.decided_by)["customer"] == "monitoring"


def test_unknown_sender_has_no_customer_and_plan_none_and_a_guessed_language() -> None:
    result = run(TWO_CATEGORIES, make_mail("Hi, the phones at our office do not work."))
    assert (result.customer, result.plan, result.language) == (None, "none", "en")
    assert run(TWO_CATEGORIES, make_mail("Hoi, de telefoon werkt niet.")).language == "nl"


def test_a_rule_naming_an_unknown_customer_is_ignored_with_a_reason() -> None:
    rules = '[[rule]]\nname = "x"\nthen = { customer = "Nobody" }\n'
    result = run(rules, make_mail("x"), customers=parse_customers(CUSTOMERS))
    assert result.customer is None
    assert "no such customer" in result.explanation[0].ignored[0]


def test_explanation_lists_every_rule_with_hit_or_miss_and_the_matched_text() -> None:
    result = run(TWO_CATEGORIES, make_mail("Vanochtend: niemand kan bellen!"))
    text = explain(result)
    assert "HIT  whole-company (line" in text
    assert "[niemand kan bellen]" in text
    assert "miss reception (line" in text and "has none of" in text
    assert "kind:        incident" in text and "CAT III" in text


def test_json_form_is_serialisable_and_names_the_rules_version() -> None:
    result = run(TWO_CATEGORIES, make_mail("niemand kan bellen"))
    data = json.loads(json.dumps(as_json(result)))
    assert data["category"] == "CAT III"
    assert data["rules_hash"] == result.rules_hash and len(data["rules_hash"]) == 64
    assert data["matched_rules"] == ["whole-company"]
    assert [rule["hit"] for rule in data["rules"]] == [True, False]
    assert data["rules"][0]["conditions"]["matched"] is True


def test_classification_is_deterministic() -> None:
    mail = make_mail("Niemand kan bellen, ook de receptie niet.")
    assert as_json(run(TWO_CATEGORIES, mail)) == as_json(run(TWO_CATEGORIES, mail))
