"""The rules file: its shape, how it is loaded and checked, and the immutable `RuleSet`.

A rules file has `[settings]`, `[defaults]` (kind when no rule sets one, category for an
incident without one), `[require]` (fields each kind and category needs), `[fields.NAME]`
(how to find a field) and `[[rule]]` tables, each with a `name`, a `when` condition table and a
`then` action table. Loading either returns a complete `RuleSet` or raises `RulesError` listing
every problem with file, line and fix; it never returns half a rule set, so a reload that fails
leaves the previous rules in force. The `RuleSet` records the sha256 of the exact bytes it was
parsed from, so every classification can say which version of the rules made it.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from mailintake.classifiers.conditions import Condition, ConditionParser
from mailintake.classifiers.fields import FIELD_SOURCES, Extractor, FieldDef, Labelled
from mailintake.classifiers.matching import Matcher
from mailintake.classifiers.problems import Problem, RulesError
from mailintake.classifiers.tomlpos import (
    KeyPath,
    TomlLocator,
    strip_syntax_position,
    syntax_error_line,
)
from mailintake.classifiers.validation import pydantic_problems

Kind = Literal["incident", "service_request", "change", "user_admin", "other"]
Category = Literal["CAT I", "CAT II", "CAT III"]
KINDS: tuple[str, ...] = get_args(Kind)
CATEGORIES: tuple[str, ...] = get_args(Category)
DEFAULT_RULES_PATH = Path(__file__).with_name("default_rules.toml")
ModelT = TypeVar("ModelT", bound=BaseModel)

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
RuleName = Annotated[str, StringConstraints(pattern=_NAME)]
TemplateName = Annotated[str, StringConstraints(pattern=_NAME)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$")]
Tag = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Spec(BaseModel):
    # strict: `close = "yes"` is a mistake to report, not a value to guess at.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ActionSpec(_Spec):
    kind: Kind | None = None
    category: Category | None = None
    tags: list[Tag] = []
    customer: Text | None = None
    require: list[FieldName] = []
    answer: TemplateName | None = None
    close: Literal[True] | None = None
    auto_reply: Literal[True] | None = None
    spam: Literal[True] | None = None
    stop: bool = False


class RuleSpec(_Spec):
    name: RuleName
    description: str = ""
    when: dict[str, Any] = {}
    then: ActionSpec


class ExtractorSpec(_Spec):
    name: str | None = None
    in_: list[Literal["subject", "body"]] = Field(default=["body"], alias="in", min_length=1)
    labelled: list[Text] | None = None
    regex: str | list[str] | None = None
    words: list[str] | None = None
    contains: list[str] | None = None
    min_words: int | None = Field(default=None, ge=1)
    customer_sites: Literal[True] | None = None
    case_sensitive: bool = False


class FieldSpec(_Spec):
    description: str = ""
    # What to ask the customer for, per language, in a clarification request.
    ask: dict[Literal["nl", "en"], str] = {}
    extract: list[ExtractorSpec] = Field(min_length=1)


class RequireSpec(_Spec):
    kind: dict[Kind, list[FieldName]] = {}
    category: dict[Category, list[FieldName]] = {}


class DefaultsSpec(_Spec):
    kind: Kind = "other"
    category: Category | None = None


class SettingsSpec(_Spec):
    regex_timeout_ms: int = Field(default=50, ge=1, le=5000)
    regex_budget_ms: int = Field(default=1000, ge=1, le=60000)
    max_text_chars: int = Field(default=100_000, ge=1000)


class RulesFileSpec(_Spec):
    """The top level; each field and each rule is validated on its own (see `_Compiler`), so
    one mistake in a rule does not hide the mistakes in the others."""

    version: Literal[1] = 1
    settings: SettingsSpec = SettingsSpec()
    defaults: DefaultsSpec = DefaultsSpec()
    require: RequireSpec = RequireSpec()
    fields: dict[FieldName, dict[str, Any]] = {}
    rule: list[dict[str, Any]] = []


@dataclass(frozen=True)
class Action:
    """What a rule does when it hits (see the precedence notes in `classify`)."""

    kind: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    customer: str | None = None
    require: tuple[str, ...] = ()
    answer: str | None = None
    close: bool = False
    auto_reply: bool = False
    spam: bool = False
    stop: bool = False

    def describe(self) -> list[str]:
        said = []
        for key in ("kind", "category", "customer", "answer"):
            value = getattr(self, key)
            if value is not None:
                said.append(f"{key} = {value}")
        if self.tags:
            said.append(f"tags + {', '.join(self.tags)}")
        if self.require:
            said.append(f"require + {', '.join(self.require)}")
        said.extend(flag for flag in ("close", "auto_reply", "spam", "stop") if getattr(self, flag))
        return said


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    line: int
    # None: the rule has no conditions and always hits.
    condition: Condition | None
    action: Action


@dataclass(frozen=True, eq=False)
class RuleSet:
    """One loaded rules file. Immutable: a reload makes a new one (compared by identity)."""

    source: str
    sha256: str
    rules: tuple[Rule, ...]
    fields: tuple[FieldDef, ...]
    required_by_kind: Mapping[str, tuple[str, ...]]
    required_by_category: Mapping[str, tuple[str, ...]]
    default_kind: str = "other"
    default_category: str | None = None
    regex_timeout: float = 0.05
    regex_budget: float = 1.0
    max_text_chars: int = 100_000

    def field(self, name: str) -> FieldDef | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def answer_templates(self) -> frozenset[str]:
        """Template names the rules answer with; the notifier must have each of them."""
        return frozenset(r.action.answer for r in self.rules if r.action.answer)

    @property
    def customer_names(self) -> frozenset[str]:
        """Customers the rules assign; the customers file must have each of them."""
        return frozenset(r.action.customer for r in self.rules if r.action.customer)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rules_hash(path: str | Path) -> str:
    """sha256 of the rules file's bytes: the version of the rules a ticket records."""
    return sha256_of(Path(path).read_bytes())


def load_rules(path: str | Path = DEFAULT_RULES_PATH) -> RuleSet:
    """Load and check a rules file; raises `RulesError` with every problem found."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise RulesError([Problem(str(path), None, f"cannot read: {error.strerror}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        message = f"not UTF-8 ({error.reason} at byte {error.start}); save the file as UTF-8"
        raise RulesError([Problem(str(path), None, message)]) from None
    return parse_rules(text, source=str(path), sha256=sha256_of(data))


def reload_rules(current: RuleSet) -> RuleSet:
    """The rules now in `current.source`: `current` itself when the bytes did not change,
    a new RuleSet when they did, or `RulesError` (keep using `current`) when the edit is bad."""
    path = Path(current.source)
    try:
        if sha256_of(path.read_bytes()) == current.sha256:
            return current
    except OSError:
        pass  # load_rules reports it properly
    return load_rules(path)


def check_rules_file(path: str | Path) -> list[Problem]:
    """Every problem in a rules file; empty when it is fine."""
    try:
        load_rules(path)
    except RulesError as error:
        return list(error.problems)
    return []


def parse_rules(text: str, *, source: str = "<rules>", sha256: str | None = None) -> RuleSet:
    """Parse rules TOML text into a RuleSet, or raise `RulesError`."""
    if sha256 is None:
        sha256 = sha256_of(text.encode("utf-8"))
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = (
            f"TOML syntax: {strip_syntax_position(str(error))}; check quotes, brackets and commas"
        )
        raise RulesError([Problem(source, syntax_error_line(str(error), text), message)]) from None
    locator = TomlLocator(text)
    compiler = _Compiler(data)
    ruleset = compiler.compile(source, sha256, locator)
    if compiler.problems:
        raise RulesError(
            sorted(
                (
                    Problem(source, locator.line_of(path), compiler.labelled(path, message))
                    for path, message in compiler.problems
                ),
                key=lambda problem: problem.line or 0,
            )
        )
    return ruleset


class _Compiler:
    """Validates each part of the file and compiles it, collecting every problem."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.conditions = ConditionParser()
        self._problems: list[tuple[KeyPath, str]] = []

    @property
    def problems(self) -> list[tuple[KeyPath, str]]:
        return self._problems + self.conditions.problems

    def labelled(self, path: KeyPath, message: str) -> str:
        """The message, led by the rule's name when it is about a rule and does not say so."""
        if len(path) < 2 or path[0] != "rule" or not isinstance(path[1], int):
            return message
        raw_rules = self.data.get("rule")
        raw = raw_rules[path[1]] if isinstance(raw_rules, list) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        label = f'rule "{name}"' if isinstance(name, str) else f"rule {path[1] + 1}"
        return message if label in message else f"{label}: {message}"

    def _validate(
        self, model: type[ModelT], data: Any, prefix: KeyPath = (), label: str = ""
    ) -> ModelT | None:
        try:
            return model.model_validate(data)
        except ValidationError as error:
            self._problems.extend(pydantic_problems(error, model, prefix=prefix, label=label))
            return None

    def compile(self, source: str, sha256: str, locator: TomlLocator) -> RuleSet:
        top = self._validate(RulesFileSpec, self.data) or RulesFileSpec()
        raw_fields = self.data.get("fields")
        raw_fields = raw_fields if isinstance(raw_fields, dict) else {}
        # Names of all fields written, valid or not: a broken field is reported once, not
        # again at every rule that requires it.
        known = set(raw_fields)
        fields = []
        for name, raw in raw_fields.items():
            spec = self._validate(FieldSpec, raw, ("fields", name), f"[fields.{name}]")
            if spec is not None:
                fields.append(self._field(name, spec))
        for group, table in (("kind", top.require.kind), ("category", top.require.category)):
            for key, names in table.items():
                self._check_fields(names, ("require", group, key), known)
        raw_rules = self.data.get("rule")
        raw_rules = raw_rules if isinstance(raw_rules, list) else []
        rules = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            path = ("rule", index)
            name = raw.get("name") if isinstance(raw, dict) else None
            label = f'rule "{name}"' if isinstance(name, str) else f"rule {index + 1}"
            rule_spec = self._validate(RuleSpec, raw, path, label)
            if rule_spec is None:
                # Still judge its conditions, so one check shows every mistake in the file.
                if isinstance(raw, dict) and isinstance(raw.get("when"), dict):
                    self.conditions.table(raw["when"], (*path, "when"))
                continue
            if rule_spec.name in seen:
                self._problems.append(
                    (
                        (*path, "name"),
                        f"rule name '{rule_spec.name}' is used twice (first as rule "
                        f"{seen[rule_spec.name] + 1}); names must be unique so explanations "
                        "are clear",
                    )
                )
            seen.setdefault(rule_spec.name, index)
            condition = (
                self.conditions.table(rule_spec.when, (*path, "when")) if rule_spec.when else None
            )
            action = _action(rule_spec.then)
            if not action.describe():
                self._problems.append(
                    (
                        (*path, "then"),
                        f"{label}: then has no action; set kind, category, tags, customer, "
                        "require, answer, close, auto_reply or spam",
                    )
                )
            self._check_fields(action.require, (*path, "then", "require"), known)
            rules.append(
                Rule(
                    rule_spec.name, rule_spec.description, locator.line_of(path), condition, action
                )
            )
        settings = top.settings
        return RuleSet(
            source=source,
            sha256=sha256,
            rules=tuple(rules),
            fields=tuple(fields),
            required_by_kind=MappingProxyType({k: tuple(v) for k, v in top.require.kind.items()}),
            required_by_category=MappingProxyType(
                {k: tuple(v) for k, v in top.require.category.items()}
            ),
            default_kind=top.defaults.kind,
            default_category=top.defaults.category,
            regex_timeout=settings.regex_timeout_ms / 1000,
            regex_budget=settings.regex_budget_ms / 1000,
            max_text_chars=settings.max_text_chars,
        )

    def _check_fields(self, names: Any, path: KeyPath, known: set[str]) -> None:
        for position, name in enumerate(names):
            if name not in known:
                choices = ", ".join(sorted(known)) or "none defined yet"
                self._problems.append(
                    (
                        (*path, position),
                        f"unknown field '{name}'; define [fields.{name}] or use one of: {choices}",
                    )
                )

    def _field(self, name: str, spec: FieldSpec) -> FieldDef:
        extractors = []
        for index, extractor_spec in enumerate(spec.extract):
            path = ("fields", name, "extract", index)
            extractor = self._extractor(extractor_spec, path)
            if extractor is not None:
                extractors.append(extractor)
        ask = tuple(sorted(spec.ask.items()))
        return FieldDef(name, spec.description, ask, tuple(extractors))

    def _extractor(self, spec: ExtractorSpec, path: tuple[str | int, ...]) -> Extractor | None:
        tests: list[Matcher] = []
        if spec.labelled:
            tests.append(Labelled.build(spec.labelled))
        matcher_table: dict[str, Any] = {
            key: value
            for key in ("regex", "words", "contains", "min_words")
            if (value := getattr(spec, key)) is not None
        }
        if matcher_table:
            matcher_table["case_sensitive"] = spec.case_sensitive
            found = self.conditions.matchers(matcher_table, path, "extractor")
            if not found:
                return None  # the parser has recorded what is wrong
            tests.extend(found)
        if not matcher_table and not spec.labelled and not spec.customer_sites:
            self._problems.append(
                (
                    path,
                    "extractor finds nothing; give it labelled, regex, words, contains, "
                    "min_words or customer_sites = true",
                )
            )
            return None
        sources = tuple(source for source in FIELD_SOURCES if source in spec.in_)
        name = spec.name or ", ".join(
            key
            for key in ("labelled", "regex", "words", "contains", "min_words", "customer_sites")
            if getattr(spec, key) is not None
        )
        return Extractor(name, sources, tuple(tests), bool(spec.customer_sites))


def _action(spec: ActionSpec) -> Action:
    return Action(
        kind=spec.kind,
        category=spec.category,
        tags=tuple(dict.fromkeys(spec.tags)),
        customer=spec.customer,
        require=tuple(dict.fromkeys(spec.require)),
        answer=spec.answer,
        close=bool(spec.close),
        auto_reply=bool(spec.auto_reply),
        spam=bool(spec.spam),
        stop=spec.stop,
    )
