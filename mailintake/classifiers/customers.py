"""The customers file: who the desk's customers are and which sender belongs to which.

A customer has a name, the mail domains and single addresses it writes from, a plan name (the
SLA room defines plans; the loader checks names against `known_plans` when the caller passes
them), its services, its language and its contacts. The sender decides the customer: an exact
address (listed under `addresses` or as a contact's email) beats a domain, and a domain also
covers its subdomains (`mail.example.nl` belongs to `example.nl`), the longest listed domain
winning. Free-mail domains cannot be listed as a customer's domain, because that would make
every Gmail user that customer; list such people by address. An unknown sender has no
customer and plan `none` (Level 0, best effort).
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from mailintake.classifiers.problems import CustomersError, Problem
from mailintake.classifiers.tomlpos import (
    KeyPath,
    TomlLocator,
    strip_syntax_position,
    syntax_error_line,
)
from mailintake.classifiers.validation import pydantic_problems

NO_PLAN = "none"
EXAMPLE_PATH = Path(__file__).with_name("customers.example.toml")

# Listing one of these as a customer's domain would hand every user of the service to it.
FREEMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "hotmail.nl",
        "outlook.com",
        "outlook.nl",
        "live.com",
        "live.nl",
        "msn.com",
        "yahoo.com",
        "yahoo.nl",
        "icloud.com",
        "me.com",
        "ziggo.nl",
        "kpnmail.nl",
        "planet.nl",
        "home.nl",
        "xs4all.nl",
        "hetnet.nl",
        "chello.nl",
        "gmx.com",
        "gmx.net",
        "proton.me",
        "protonmail.com",
        "aol.com",
    }
)

Address = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-z0-9][a-z0-9-]*(\.[a-z0-9-]+)+$"
    ),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Service = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1)]


class Contact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    email: Address
    role: str = ""


class Customer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    plan: Name = NO_PLAN
    domains: tuple[Domain, ...] = ()
    addresses: tuple[Address, ...] = ()
    services: tuple[Service, ...] = ()
    language: Literal["nl", "en"] = "nl"
    # Site names and places of this customer; a site named in a mail counts as its location.
    sites: tuple[Name, ...] = ()
    contacts: tuple[Contact, ...] = ()


class CustomersFile(BaseModel):
    """The top level; each customer is validated on its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    customer: list[dict[str, Any]] = Field(default=[])


@dataclass(frozen=True)
class CustomerMatch:
    """The customer a sender belongs to, and how that was decided."""

    customer: Customer
    how: str


class CustomerBook:
    """All customers, indexed by address, domain and name. Treat it as read-only."""

    def __init__(self, customers: Sequence[Customer], source: str = "<customers>") -> None:
        self.customers: tuple[Customer, ...] = tuple(customers)
        self.source = source
        self._by_address: dict[str, Customer] = {}
        self._by_domain: dict[str, Customer] = {}
        for customer in self.customers:
            for address in (*customer.addresses, *(c.email for c in customer.contacts)):
                self._by_address[address] = customer
            for domain in customer.domains:
                self._by_domain[domain] = customer
        self._by_name = {c.name.casefold(): c for c in self.customers}

    def __len__(self) -> int:
        return len(self.customers)

    def lookup(self, address: str) -> CustomerMatch | None:
        """The customer of sender `address`: exact address first, then the longest domain."""
        address = address.strip().lower()
        exact = self._by_address.get(address)
        if exact is not None:
            return CustomerMatch(exact, f"sender address {address} is listed for {exact.name}")
        labels = address.rpartition("@")[2].split(".")
        for start in range(len(labels) - 1):
            candidate = ".".join(labels[start:])
            customer = self._by_domain.get(candidate)
            if customer is not None:
                how = "sender domain" if start == 0 else "sender is in a subdomain of"
                return CustomerMatch(customer, f"{how} {candidate}, listed for {customer.name}")
        return None

    def by_name(self, name: str) -> Customer | None:
        return self._by_name.get(name.casefold())


def parse_customers(
    text: str, *, source: str = "<customers>", known_plans: Collection[str] | None = None
) -> CustomerBook:
    """Parse customers TOML text; raises `CustomersError` naming every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = (
            f"TOML syntax: {strip_syntax_position(str(error))}; check quotes, brackets and commas"
        )
        raise CustomersError(
            [Problem(source, syntax_error_line(str(error), text), message)]
        ) from None
    locator = TomlLocator(text)
    found: list[tuple[KeyPath, str]] = []
    try:
        shape = CustomersFile.model_validate(data)
    except ValidationError as error:
        found.extend(pydantic_problems(error, CustomersFile))
        shape = CustomersFile()
    # Each customer on its own, so one mistake does not hide the others.
    customers: list[tuple[int, Customer]] = []
    for index, raw in enumerate(shape.customer):
        name = raw.get("name")
        label = f'customer "{name}"' if isinstance(name, str) else f"customer {index + 1}"
        try:
            customers.append((index, Customer.model_validate(raw)))
        except ValidationError as error:
            found.extend(
                pydantic_problems(error, Customer, prefix=("customer", index), label=label)
            )
    found.extend(_cross_check(customers, known_plans))
    if found:
        problems = [Problem(source, locator.line_of(path), message) for path, message in found]
        raise CustomersError(sorted(problems, key=lambda problem: problem.line or 0))
    return CustomerBook([customer for _, customer in customers], source)


def load_customers(path: str | Path, *, known_plans: Collection[str] | None = None) -> CustomerBook:
    """Load a customers file; raises `CustomersError` with file, line and fix for each problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise CustomersError([Problem(str(path), None, f"cannot read: {error.strerror}")]) from None
    except UnicodeDecodeError as error:
        raise CustomersError(
            [Problem(str(path), None, f"not UTF-8 ({error.reason}); save the file as UTF-8")]
        ) from None
    return parse_customers(text, source=str(path), known_plans=known_plans)


def check_customers_file(
    path: str | Path, *, known_plans: Collection[str] | None = None
) -> list[Problem]:
    """Every problem in a customers file; empty when it is fine."""
    try:
        load_customers(path, known_plans=known_plans)
    except CustomersError as error:
        return list(error.problems)
    return []


def _cross_check(
    customers: Sequence[tuple[int, Customer]], known_plans: Collection[str] | None
) -> list[tuple[KeyPath, str]]:
    """Problems between customers: names, plans, and senders claimed twice."""
    problems: list[tuple[KeyPath, str]] = []
    names: dict[str, int] = {}
    owners: dict[str, tuple[str, int]] = {}
    for index, customer in customers:
        earlier = names.setdefault(customer.name.casefold(), index)
        if earlier != index:
            problems.append(
                (
                    ("customer", index, "name"),
                    f"customer name '{customer.name}' is used twice; "
                    "give each customer its own name",
                )
            )
        if (
            known_plans is not None
            and customer.plan not in known_plans
            and customer.plan != NO_PLAN
        ):
            choices = ", ".join(sorted({*known_plans, NO_PLAN}))
            problems.append(
                (
                    ("customer", index, "plan"),
                    f"unknown plan '{customer.plan}' for {customer.name}; use one of {choices}",
                )
            )
        for position, domain in enumerate(customer.domains):
            if domain in FREEMAIL_DOMAINS:
                problems.append(
                    (
                        ("customer", index, "domains", position),
                        f"{domain} is a free-mail domain; "
                        "list this customer's people under addresses instead",
                    )
                )
            problems.extend(
                _claim(owners, f"domain {domain}", customer.name, index, "domains", position)
            )
        for position, address in enumerate(customer.addresses):
            problems.extend(
                _claim(owners, f"address {address}", customer.name, index, "addresses", position)
            )
        for position, contact in enumerate(customer.contacts):
            key = f"address {contact.email}"
            problems.extend(_claim(owners, key, customer.name, index, "contacts", position))
    return problems


def _claim(
    owners: dict[str, tuple[str, int]], key: str, name: str, index: int, field: str, position: int
) -> list[tuple[KeyPath, str]]:
    owner = owners.setdefault(key, (name, index))
    if owner[0] != name:
        return [
            (
                ("customer", index, field, position),
                f"{key} is listed for both {owner[0]} and "
                f"{name}; a sender must belong to one customer",
            )
        ]
    return []
