"""Completeness: fields found by the default extractors, and the recheck of a customer's reply."""

from __future__ import annotations

import json

import pytest

from mailintake.classifiers import (
    Completeness,
    classify,
    load_rules,
    parse_customers,
    recheck_completeness,
)
from mailintake.classifiers.rules import RuleSet
from tests.classifiers.classifier_mail import make_mail


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules()


def test_incident_without_location_is_incomplete(rules: RuleSet) -> None:
    mail = make_mail("Sinds vanochtend hoort de klant ons niet bij toestel 214, wel bij de rest.")
    result = classify(mail, rules=rules, received_in_service_hours=True)
    assert result.kind == "incident"
    assert result.required == ("description", "location")
    assert (result.missing, result.incomplete) == (("location",), True)
    assert result.completeness.value("extension") == "214"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Locatie: Distributiecentrum Venlo, hal 3", "Distributiecentrum Venlo, hal 3"),
        ("> Location: 2nd floor, Weena 505", "2nd floor, Weena 505"),
        ("Bouwbedrijf Hoekstra\nNijverheidsweg 14\n8401 BW Gorredijk", "8401 BW"),
        ("ons kantoor aan de Utrechtseweg 112 in Amersfoort", "Utrechtseweg 112"),
        ("al onze winkels in Assen en Emmen", "Assen"),
    ],
)
def test_location_extractors(rules: RuleSet, text: str, expected: str) -> None:
    mail = make_mail(f"Geen kiestoon op de toestellen.\n{text}")
    result = classify(mail, rules=rules, received_in_service_hours=True)
    assert result.completeness.value("location") == expected


def test_a_phone_number_or_company_name_is_not_a_location(rules: RuleSet) -> None:
    mail = make_mail("Geen kiestoon op alle toestellen!\nBel 06 - 1209 3354\nGrand Café Het Wapen")
    result = classify(mail, rules=rules, received_in_service_hours=True)
    assert result.missing == ("location",)


def test_a_site_of_the_customer_counts_as_location(rules: RuleSet) -> None:
    customers = parse_customers(
        '[[customer]]\nname = "KCO"\ndomains = ["kco.nl"]\nsites = ["Callcenter Oost"]\n'
    )
    mail = make_mail(
        "De wachtrij in het callcenter oost verdeelt geen gesprekken.", sender="a@kco.nl"
    )
    result = classify(mail, rules=rules, customers=customers, received_in_service_hours=True)
    assert not result.incomplete
    found = {f.name: f for f in result.found}["location"]
    assert found.how.startswith("site of the customer")


def test_a_description_names_what_is_broken(rules: RuleSet) -> None:
    vague = make_mail("Het hele bedrijf zit weer stil door jullie storing. Bel me!", subject="!!!")
    result = classify(vague, rules=rules, received_in_service_hours=True)
    assert result.category == "CAT III"
    assert result.missing == ("description", "location")
    concrete = make_mail("Niemand kan bellen, alle toestellen zeggen Geen verbinding.")
    assert (
        "description" not in classify(concrete, rules=rules, received_in_service_hours=True).missing
    )


def test_device_replacement_also_needs_a_serial(rules: RuleSet) -> None:
    mail = make_mail(
        "Het toestel op de receptie is defect, graag een vervangend toestel.\n"
        "Locatie: Zwolle\nS/N: 805EC0A1B2C3"
    )
    result = classify(mail, rules=rules, received_in_service_hours=True)
    assert result.required == ("description", "location", "serial")
    assert not result.incomplete
    assert result.completeness.value("serial") in {"805EC0A1B2C3"}


def test_reply_with_the_missing_location_completes_the_report(rules: RuleSet) -> None:
    first = classify(
        make_mail("Storing bij de receptie: geen kiestoon op het toestel."),
        rules=rules,
        received_in_service_hours=True,
    )
    assert first.missing == ("location",)
    stored = json.loads(json.dumps(first.completeness.to_dict()))
    still = recheck_completeness(stored, "Bedankt, we horen het graag.", rules=rules)
    assert still.missing == ("location",) and still.incomplete
    done = recheck_completeness(
        still,
        make_mail("Het is ons kantoor in Zwolle, Melkmarkt 22.", subject="RE: storing"),
        rules=rules,
    )
    assert not done.incomplete and done.value("location") == "Melkmarkt 22"
    assert done.value("description") == first.completeness.value("description")


def test_recheck_of_a_complete_report_changes_nothing(rules: RuleSet) -> None:
    complete = Completeness(required=("location",), found=(), missing=())
    assert recheck_completeness(complete, "whatever", rules=rules) is complete
