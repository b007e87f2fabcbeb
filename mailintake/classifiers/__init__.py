"""The classifier room: admin-edited rules that decide what a mail is, and say why.

Pure code: no database, no I/O except reading the rules and customers files when asked. The
pipeline calls `classify(mail, rules=..., customers=..., received_in_service_hours=...)` and
stores the `Classification` (kind, category, customer and plan, completeness, the rules'
sha256 and the explanation) with the ticket; `recheck_completeness` checks a customer's reply
to a clarification request. Admin tools use `check_rules_file`, `explain` and `as_json`.
"""

from mailintake.classifiers.classify import (
    Classification,
    RuleTrace,
    classify,
    recheck_completeness,
)
from mailintake.classifiers.customers import (
    EXAMPLE_PATH as CUSTOMERS_EXAMPLE_PATH,
)
from mailintake.classifiers.customers import (
    NO_PLAN,
    Contact,
    Customer,
    CustomerBook,
    CustomerMatch,
    check_customers_file,
    load_customers,
    parse_customers,
)
from mailintake.classifiers.explain import as_json, explain
from mailintake.classifiers.fields import Completeness, FoundField
from mailintake.classifiers.mailtext import html_to_text
from mailintake.classifiers.problems import (
    CustomersError,
    FileProblemsError,
    Problem,
    RulesError,
)
from mailintake.classifiers.rules import (
    CATEGORIES,
    DEFAULT_RULES_PATH,
    KINDS,
    RuleSet,
    check_rules_file,
    load_rules,
    parse_rules,
    reload_rules,
    rules_hash,
)
from mailintake.classifiers.wiring import cross_check

__all__ = [
    "CATEGORIES",
    "CUSTOMERS_EXAMPLE_PATH",
    "DEFAULT_RULES_PATH",
    "KINDS",
    "NO_PLAN",
    "Classification",
    "Completeness",
    "Contact",
    "Customer",
    "CustomerBook",
    "CustomerMatch",
    "CustomersError",
    "FileProblemsError",
    "FoundField",
    "Problem",
    "RuleSet",
    "RuleTrace",
    "RulesError",
    "as_json",
    "check_customers_file",
    "check_rules_file",
    "classify",
    "cross_check",
    "explain",
    "html_to_text",
    "load_customers",
    "load_rules",
    "parse_customers",
    "parse_rules",
    "recheck_completeness",
    "reload_rules",
    "rules_hash",
]
