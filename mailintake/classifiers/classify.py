"""Classify one mail with a RuleSet: kind, category, customer, completeness, and why.

Precedence, the same as the header of `default_rules.toml` says:

1. Rules are judged in file order, top to bottom; there are no priorities. Put specific rules
   above general ones.
2. For `kind`, `category`, `customer` and `answer` the first rule that hits and sets the value
   wins; a later hit that would set it again is recorded as ignored, naming the rule that won.
3. `tags` and `require` add up over all rules that hit; `close`, `auto_reply` and `spam` are
   switched on by any rule that hits and never off again.
4. A rule with `stop = true` ends the judging when it hits; later rules are listed as not judged.
5. After the rules: no kind set means `[defaults] kind`; an incident without a category gets
   `[defaults] category`; a kind other than incident has no category (a rule's category is
   then dropped, with a note).
6. The sender decides the customer (see `customers`); a rule's `customer` overrides that, and
   conditions in later rules see the customer as it stands when they are judged.
7. Mail marked auto-reply or spam, or answered and closed, needs no fields: it becomes no
   ticket work. Otherwise the required fields are those of the kind, of the category and of
   every `require` of the rules that hit, in that order.

Every rule appears in the explanation with hit, miss or not judged, the text that decided it
and what it changed, like Mailman's chain records its rule hits and misses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mailintake.classifiers.conditions import MailView, Outcome
from mailintake.classifiers.customers import NO_PLAN, Customer, CustomerBook
from mailintake.classifiers.fields import Completeness, FoundField, assess, extract
from mailintake.classifiers.mailtext import new_text
from mailintake.classifiers.matching import Budget, Text
from mailintake.classifiers.rules import Rule, RuleSet
from mailintake.mail import ParsedMail

# Common words that tell Dutch from English when the customer's language is unknown.
_DUTCH = frozenset(
    (  # noqa: SIM905 - a word list reads best as words
        "de het een en ik niet van op bij voor graag kunnen kan met dat die onze ons jullie u "
        "zijn wordt geen ook maar nog wel hebben heeft naar"
    ).split()
)
_ENGLISH = frozenset(
    (  # noqa: SIM905
        "the a and i not of on at for please can could with that our us you it are has have "
        "been since this there would"
    ).split()
)


@dataclass(frozen=True)
class RuleTrace:
    """One rule's part in a classification."""

    rule: str
    line: int
    evaluated: bool
    hit: bool
    why: str
    applied: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    outcome: Outcome | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Classification:
    """What the rules made of one mail. Plain data: the pipeline stores it on the ticket."""

    kind: str
    category: str | None
    tags: tuple[str, ...]
    customer: str | None
    plan: str
    language: str
    required: tuple[str, ...]
    found: tuple[FoundField, ...]
    missing: tuple[str, ...]
    incomplete: bool
    answer_template: str | None
    close: bool
    auto_reply: bool
    spam: bool
    rules_hash: str
    rules_source: str
    # Which rule decided each single-valued result ("kind" -> rule name, or "[defaults]").
    decided_by: tuple[tuple[str, str], ...]
    explanation: tuple[RuleTrace, ...]
    notes: tuple[str, ...]

    @property
    def acknowledge(self) -> bool:
        """Whether the sender gets an acknowledgement (not for auto-replies, spam or answers)."""
        return not (self.auto_reply or self.spam or self.close)

    @property
    def completeness(self) -> Completeness:
        return Completeness(self.required, self.found, self.missing)

    @property
    def hits(self) -> tuple[str, ...]:
        return tuple(trace.rule for trace in self.explanation if trace.hit)


@dataclass
class _Decision:
    """The result as rules build it up; first setter wins for single values."""

    values: dict[str, str] = field(default_factory=dict)
    decided_by: dict[str, str] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    require: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)
    customer: Customer | None = None

    def apply(
        self, rule: Rule, customers: CustomerBook | None, view: MailView
    ) -> tuple[list[str], list[str]]:
        action = rule.action
        applied: list[str] = []
        ignored: list[str] = []
        for key in ("kind", "category", "answer"):
            value = getattr(action, key)
            if value is None:
                continue
            if key in self.values:
                ignored.append(
                    f"{key} = {value} ignored: already {self.values[key]} by rule "
                    f'"{self.decided_by[key]}"'
                )
            else:
                self.values[key] = value
                self.decided_by[key] = rule.name
                applied.append(f"{key} = {value}")
                if key in ("kind", "category"):
                    setattr(view, key, value)
        if action.customer is not None:
            self._set_customer(rule, customers, view, applied, ignored)
        for tag in action.tags:
            if tag not in self.tags:
                self.tags.append(tag)
                view.tags.append(tag)
                applied.append(f"tag {tag}")
        for name in action.require:
            if name not in self.require:
                self.require.append(name)
                applied.append(f"require {name}")
        for flag in ("close", "auto_reply", "spam"):
            if getattr(action, flag):
                if flag not in self.flags:
                    self.flags[flag] = rule.name
                applied.append(flag)
        if action.stop:
            applied.append("stop")
        return applied, ignored

    def _set_customer(
        self,
        rule: Rule,
        customers: CustomerBook | None,
        view: MailView,
        applied: list[str],
        ignored: list[str],
    ) -> None:
        wanted = rule.action.customer or ""
        if "customer" in self.decided_by:
            ignored.append(
                f'customer = {wanted} ignored: already set by rule "{self.decided_by["customer"]}"'
            )
            return
        customer = customers.by_name(wanted) if customers is not None else None
        if customer is None:
            ignored.append(f"customer = {wanted} ignored: no such customer in the customers file")
            return
        self.customer = customer
        self.decided_by["customer"] = rule.name
        view.customer, view.plan = customer.name, customer.plan
        applied.append(f"customer = {customer.name}")


def classify(
    mail: ParsedMail,
    *,
    rules: RuleSet,
    customers: CustomerBook | None = None,
    received_in_service_hours: bool,
) -> Classification:
    """Judge `mail` by `rules`; pure: no I/O, the same input gives the same result."""
    budget = Budget(rules.regex_timeout, rules.regex_budget)
    notes: list[str] = []
    decision = _Decision()
    match = customers.lookup(mail.from_address) if customers is not None else None
    if match is not None:
        decision.customer = match.customer
        notes.append(f"customer {match.customer.name}: {match.how}")
    else:
        notes.append(
            f"sender {mail.from_address or '(none)'} is not a known customer: "
            f"no customer, plan {NO_PLAN}"
        )
    view = MailView(
        mail,
        in_service_hours=received_in_service_hours,
        customer=decision.customer.name if decision.customer else None,
        plan=decision.customer.plan if decision.customer else NO_PLAN,
        max_chars=rules.max_text_chars,
    )
    traces = _judge(rules, customers, view, decision, budget)
    kind, category = _kind_and_category(rules, decision, notes)
    customer = decision.customer
    flags = decision.flags
    no_ticket_work = bool(flags)
    if no_ticket_work:
        reasons = ", ".join(f'{flag} by rule "{rule}"' for flag, rule in flags.items())
        notes.append(f"no fields required: {reasons}")
        completeness = Completeness()
    else:
        required = [
            *rules.required_by_kind.get(kind, ()),
            *(rules.required_by_category.get(category, ()) if category else ()),
            *decision.require,
        ]
        texts = _texts(view)
        found = extract(rules.fields, texts, customer.sites if customer else (), budget)
        completeness = assess(tuple(dict.fromkeys(required)), found)
    if budget.timeouts:
        notes.append(f"{budget.timeouts} regex search(es) timed out and counted as no match")
    language = customer.language if customer else _guess_language(view)
    return Classification(
        kind=kind,
        category=category,
        tags=tuple(decision.tags),
        customer=customer.name if customer else None,
        plan=customer.plan if customer else NO_PLAN,
        language=language,
        required=completeness.required,
        found=completeness.found,
        missing=completeness.missing,
        incomplete=completeness.incomplete,
        answer_template=decision.values.get("answer"),
        close="close" in flags,
        auto_reply="auto_reply" in flags,
        spam="spam" in flags,
        rules_hash=rules.sha256,
        rules_source=rules.source,
        decided_by=tuple(decision.decided_by.items()),
        explanation=traces,
        notes=tuple(notes),
    )


def _judge(
    rules: RuleSet,
    customers: CustomerBook | None,
    view: MailView,
    decision: _Decision,
    budget: Budget,
) -> tuple[RuleTrace, ...]:
    traces: list[RuleTrace] = []
    stopped_by: str | None = None
    for rule in rules.rules:
        if stopped_by is not None:
            why = f'not judged: rule "{stopped_by}" stopped the judging'
            traces.append(RuleTrace(rule.name, rule.line, False, False, why))
            continue
        if rule.condition is None:
            outcome = Outcome(True, "no conditions: always hits")
        else:
            outcome = rule.condition.evaluate(view, budget)
        if not outcome.matched:
            traces.append(
                RuleTrace(rule.name, rule.line, True, False, outcome.detail, outcome=outcome)
            )
            continue
        applied, ignored = decision.apply(rule, customers, view)
        traces.append(
            RuleTrace(
                rule.name,
                rule.line,
                True,
                True,
                outcome.detail,
                tuple(applied),
                tuple(ignored),
                outcome,
            )
        )
        if rule.action.stop:
            stopped_by = rule.name
    return tuple(traces)


def _kind_and_category(
    rules: RuleSet, decision: _Decision, notes: list[str]
) -> tuple[str, str | None]:
    kind = decision.values.get("kind")
    if kind is None:
        kind = rules.default_kind
        decision.decided_by["kind"] = "[defaults]"
        notes.append(f"kind {kind}: no rule set a kind, [defaults] kind applies")
    category = decision.values.get("category")
    if kind != "incident":
        if category is not None:
            notes.append(
                f'category {category} from rule "{decision.decided_by.pop("category")}" dropped: '
                f"only incidents have a category, this is {kind}"
            )
        return kind, None
    if category is None and rules.default_category is not None:
        category = rules.default_category
        decision.decided_by["category"] = "[defaults]"
        notes.append(f"category {category}: no rule set a category, [defaults] category applies")
    return kind, category


def _texts(view: MailView) -> dict[str, Text]:
    texts: dict[str, Text] = {}
    for source in ("subject", "body"):
        values = view.values(source)
        if values:
            texts[source] = values[0]
    return texts


def _guess_language(view: MailView) -> str:
    words = [token[0] for text in view.values("body") for token in text.tokens[:400]]
    dutch = sum(word in _DUTCH for word in words)
    english = sum(word in _ENGLISH for word in words)
    return "en" if english > dutch else "nl"


def recheck_completeness(
    previous: Completeness | Mapping[str, Any],
    reply: ParsedMail | str,
    *,
    rules: RuleSet,
    customer: Customer | None = None,
) -> Completeness:
    """Completeness after the customer's reply: fields found before stay found, and the
    reply's new text (and subject) is searched for the ones still missing. The caller starts
    the response clock when the result is no longer incomplete."""
    if not isinstance(previous, Completeness):
        previous = Completeness.from_dict(previous)
    if not previous.missing:
        return previous
    texts: dict[str, Text] = {}
    if isinstance(reply, ParsedMail):
        if reply.subject:
            texts["subject"] = Text(reply.subject[: rules.max_text_chars])
        body = new_text(reply)
    else:
        body = reply
    if body:
        texts["body"] = Text(body[: rules.max_text_chars])
    wanted = [f for f in rules.fields if f.name in previous.missing]
    budget = Budget(rules.regex_timeout, rules.regex_budget)
    found = extract(wanted, texts, customer.sites if customer else (), budget)
    return assess(previous.required, (*previous.found, *found))
