"""The customers file: who a sender belongs to, and mistakes reported with line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailintake.classifiers import (
    CUSTOMERS_EXAMPLE_PATH,
    CustomersError,
    check_customers_file,
    load_customers,
    parse_customers,
)

BOOK = """\
[[customer]]
name = "Acme"
plan = "premium"
domains = ["acme.nl"]
addresses = ["baas.acme@gmail.com"]

[[customer]]
name = "Acme Zuid"
plan = "standard"
domains = ["zuid.acme.nl"]

[[customer]]
name = "Freelancer"
addresses = ["piet@acme.nl"]

[[customer.contacts]]
name = "Piet"
email = "Piet.Tweede@Example.org"
role = "eigenaar"
"""


def problems_of(text: str, **kwargs: object) -> list[tuple[int | None, str]]:
    with pytest.raises(CustomersError) as caught:
        parse_customers(text, source="customers.toml", **kwargs)  # type: ignore[arg-type]
    return [(problem.line, problem.message) for problem in caught.value.problems]


def test_example_file_loads_with_the_example_plans() -> None:
    book = load_customers(CUSTOMERS_EXAMPLE_PATH, known_plans={"premium", "standard"})
    assert len(book) == 5
    assert check_customers_file(CUSTOMERS_EXAMPLE_PATH) == []


def test_exact_address_beats_domain() -> None:
    book = parse_customers(BOOK)
    match = book.lookup("Piet@ACME.nl")
    assert match is not None and match.customer.name == "Freelancer"
    assert "sender address piet@acme.nl" in match.how


def test_domain_covers_subdomains_and_the_longest_listed_domain_wins() -> None:
    book = parse_customers(BOOK)
    assert book.lookup("jan@acme.nl").customer.name == "Acme"  # type: ignore[union-attr]
    assert book.lookup("jan@mail.acme.nl").customer.name == "Acme"  # type: ignore[union-attr]
    assert book.lookup("jan@zuid.acme.nl").customer.name == "Acme Zuid"  # type: ignore[union-attr]
    assert book.lookup("jan@x.zuid.acme.nl").customer.name == "Acme Zuid"  # type: ignore[union-attr]
    assert book.lookup("jan@notacme.nl") is None


def test_private_addresses_and_contacts_identify_their_customer() -> None:
    book = parse_customers(BOOK)
    assert book.lookup("baas.acme@gmail.com").customer.name == "Acme"  # type: ignore[union-attr]
    assert book.lookup("piet.tweede@example.org").customer.name == "Freelancer"  # type: ignore[union-attr]
    assert book.lookup("someone@gmail.com") is None


def test_defaults_plan_none_language_nl() -> None:
    freelancer = parse_customers(BOOK).by_name("freelancer")
    assert freelancer is not None
    assert (freelancer.plan, freelancer.language, freelancer.services) == ("none", "nl", ())


def test_unknown_plan_is_reported_when_the_plans_are_known() -> None:
    [(line, message)] = problems_of(BOOK, known_plans={"standard"})
    assert line == 3
    assert "unknown plan 'premium' for Acme" in message and "none, standard" in message


def test_free_mail_domains_cannot_belong_to_a_customer() -> None:
    [(line, message)] = problems_of(BOOK.replace('["zuid.acme.nl"]', '["hotmail.com"]'))
    assert line == 10
    assert "hotmail.com is a free-mail domain" in message and "addresses" in message


def test_a_sender_cannot_belong_to_two_customers() -> None:
    found = problems_of(BOOK.replace('["zuid.acme.nl"]', '["acme.nl"]'))
    assert [line for line, _ in found] == [10]
    assert "domain acme.nl is listed for both Acme and Acme Zuid" in found[0][1]


def test_mistakes_in_several_customers_are_all_reported_with_lines() -> None:
    text = BOOK.replace('plan = "standard"', 'plan = "standard"\nlanguage = "de"')
    text = text.replace("role = ", "rol = ")
    text = text.replace('addresses = ["baas.acme@gmail.com"]', 'addresses = ["baas"]')
    found = problems_of(text)
    assert [line for line, _ in found] == [5, 10, 20]
    assert "'baas' is not an address such as name@example.nl" in found[0][1]
    assert 'customer "Acme Zuid"' in found[1][1] and "'de' is not allowed" in found[1][1]
    assert "unknown key 'rol'" in found[2][1] and "did you mean 'role'?" in found[2][1]


def test_syntax_errors_and_unreadable_files(tmp_path: Path) -> None:
    [(line, message)] = problems_of(BOOK.replace('name = "Acme"', 'name = "Acme'))
    assert line == 2 and message.startswith("TOML syntax")
    [problem] = check_customers_file(tmp_path / "missing.toml")
    assert "cannot read" in problem.message
