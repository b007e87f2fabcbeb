"""Checks across files: names the rules use that another file must define.

The rules can assign a customer by name and answer with a template by name. Each file is
checked on its own when it loads; `cross_check` then tells the admin, with the rule's line,
when the rules name a customer the customers file lacks or a template the notifier lacks, so
that mistake shows at `rules check` and reload rather than on the first mail that hits.
"""

from __future__ import annotations

from collections.abc import Collection

from mailintake.classifiers.customers import CustomerBook
from mailintake.classifiers.problems import Problem
from mailintake.classifiers.rules import RuleSet


def cross_check(
    rules: RuleSet,
    customers: CustomerBook | None = None,
    *,
    templates: Collection[str] | None = None,
) -> list[Problem]:
    """Problems with names the rules use: unknown customers and unknown answer templates."""
    problems = []
    for rule in rules.rules:
        wanted = rule.action.customer
        if wanted and customers is not None and customers.by_name(wanted) is None:
            problems.append(
                Problem(
                    rules.source,
                    rule.line,
                    f'rule "{rule.name}" sets customer "{wanted}", '
                    f"which is not in {customers.source}; add it there or fix the name",
                )
            )
        answer = rule.action.answer
        if answer and templates is not None and answer not in templates:
            known = ", ".join(sorted(templates)) or "none"
            problems.append(
                Problem(
                    rules.source,
                    rule.line,
                    f'rule "{rule.name}" answers with template '
                    f'"{answer}", which does not exist; known templates: {known}',
                )
            )
    return problems
