"""A classification told to people (`explain`) and to programs (`as_json`).

`mailintake rules test MESSAGE.eml` prints `explain(...)`; with `--json` it prints
`as_json(...)`. Both list every rule with hit, miss or not judged, the text that decided it and
what it changed, then the notes on customer, defaults and completeness, so an admin can see why
a mail landed where it did and which line of the rules file to change.
"""

from __future__ import annotations

from typing import Any

from mailintake.classifiers.classify import Classification, RuleTrace
from mailintake.classifiers.conditions import Outcome


def _mark(trace: RuleTrace) -> str:
    if not trace.evaluated:
        return "skip"
    return "HIT " if trace.hit else "miss"


def explain(classification: Classification, *, verbose: bool = False) -> str:
    """Human-readable account of a classification; `verbose` adds each condition's parts."""
    c = classification
    decided = dict(c.decided_by)

    def by(key: str) -> str:
        rule = decided.get(key)
        if rule is None:
            return ""
        return "  (from [defaults])" if rule == "[defaults]" else f'  (rule "{rule}")'

    lines = [
        f"kind:        {c.kind}{by('kind')}",
        f"category:    {c.category or '-'}{by('category') if c.category else ''}",
        f"customer:    {c.customer or '(unknown sender)'}, plan {c.plan}, language {c.language}"
        + by("customer"),
        f"tags:        {', '.join(c.tags) or '-'}",
    ]
    if c.required:
        state = f"no, missing {', '.join(c.missing)}" if c.incomplete else "yes"
        lines.append(f"complete:    {state} (required: {', '.join(c.required)})")
    else:
        lines.append("complete:    yes (nothing required)")
    for found in c.found:
        lines.append(f'  found {found.name} = "{_short(found.value)}"  ({found.how})')
    handling = []
    if c.auto_reply:
        handling.append("auto-reply: no acknowledgement")
    if c.spam:
        handling.append("spam: no acknowledgement")
    if c.answer_template:
        handling.append(f"answer with template {c.answer_template}{by('answer')}")
    if c.close:
        handling.append("close: no ticket work")
    lines.append(f"handling:    {'; '.join(handling) or 'acknowledge and open a ticket'}")
    lines.append(f"rules:       {c.rules_source} sha256 {c.rules_hash[:12]}")
    if c.notes:
        lines.append("notes:")
        lines.extend(f"  - {note}" for note in c.notes)
    lines.append("rules judged:")
    for trace in c.explanation:
        lines.append(f"  {_mark(trace)} {trace.rule} (line {trace.line}): {trace.why}")
        if trace.applied:
            lines.append(f"         -> {', '.join(trace.applied)}")
        for ignored in trace.ignored:
            lines.append(f"         -> {ignored}")
        if verbose and trace.outcome is not None and trace.outcome.parts:
            lines.extend(_outcome_lines(trace.outcome, depth=3))
    return "\n".join(lines)


def _outcome_lines(outcome: Outcome, depth: int) -> list[str]:
    lines = []
    for part in outcome.parts:
        mark = "yes" if part.matched else "no "
        lines.append(f"{'  ' * depth}{mark} {part.detail}")
        lines.extend(_outcome_lines(part, depth + 1))
    return lines


def _short(value: str, limit: int = 70) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _outcome_dict(outcome: Outcome) -> dict[str, Any]:
    result: dict[str, Any] = {"matched": outcome.matched, "detail": outcome.detail}
    if outcome.parts:
        result["parts"] = [_outcome_dict(part) for part in outcome.parts]
    return result


def as_json(classification: Classification) -> dict[str, Any]:
    """JSON-able form for `rules test --json` and for storing with the ticket."""
    c = classification
    return {
        "kind": c.kind,
        "category": c.category,
        "tags": list(c.tags),
        "customer": c.customer,
        "plan": c.plan,
        "language": c.language,
        "required": list(c.required),
        "found": [found.to_dict() for found in c.found],
        "missing": list(c.missing),
        "incomplete": c.incomplete,
        "answer_template": c.answer_template,
        "close": c.close,
        "auto_reply": c.auto_reply,
        "spam": c.spam,
        "acknowledge": c.acknowledge,
        "rules_hash": c.rules_hash,
        "rules_source": c.rules_source,
        "decided_by": dict(c.decided_by),
        "matched_rules": list(c.hits),
        "notes": list(c.notes),
        "rules": [
            {
                "rule": trace.rule,
                "line": trace.line,
                "evaluated": trace.evaluated,
                "hit": trace.hit,
                "why": trace.why,
                "applied": list(trace.applied),
                "ignored": list(trace.ignored),
                **({"conditions": _outcome_dict(trace.outcome)} if trace.outcome else {}),
            }
            for trace in c.explanation
        ],
    }
