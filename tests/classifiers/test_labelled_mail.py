"""Accuracy of the default rules on labelled desk mail (data/labels.toml), with confusion tables.

The mails in data/ (copied from ../shared/corpus/classifier) and data/extra/ were written for
this project (Dutch and English, real mail clients' formats); each labels.toml gives kind,
category, completeness and what is missing. The default rules
must not special-case them: they are measured here as a desk would measure its own rules.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mailintake.classifiers import Classification, classify, load_rules
from tests.classifiers.classifier_mail import parse_eml

DATA = Path(__file__).with_name("data")


def observed_kind(result: Classification) -> str:
    """The kind in the labels' terms: bounces and auto-replies are kinds of their own there."""
    if result.auto_reply:
        return "bounce" if "bounce" in result.tags else "autoreply"
    return result.kind


def confusion(pairs: list[tuple[str, str]], title: str) -> str:
    labels = sorted({label for pair in pairs for label in pair})
    counts = Counter(pairs)
    width = max(len(label) for label in labels) + 2
    lines = [f"{title} (rows: label, columns: classified)"]
    lines.append(" " * width + "".join(label[:9].rjust(10) for label in labels))
    for expected in labels:
        row = "".join(str(counts[(expected, got)] or ".").rjust(10) for got in labels)
        lines.append(expected.ljust(width) + row)
    return "\n".join(lines)


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, Any], Classification]]:
    rules = load_rules()
    judged = []
    # data/: the shared corpus's labelled mail; data/extra/: more written for these tests.
    for folder in (DATA, DATA / "extra"):
        labels = tomllib.loads((folder / "labels.toml").read_text(encoding="utf-8"))["mail"]
        for label in labels:
            mail = parse_eml((folder / label["file"]).read_bytes())
            result = classify(mail, rules=rules, received_in_service_hours=True)
            judged.append(({**label, "file": f"{folder.name}/{label['file']}"}, result))
    return judged


def accuracy(hits: list[bool]) -> float:
    return sum(hits) / len(hits)


def test_labelled_mail_accuracy(
    results: list[tuple[dict[str, Any], Classification]], capsys: pytest.CaptureFixture[str]
) -> None:
    kinds = [(label["kind"], observed_kind(result)) for label, result in results]
    incidents = [(label, result) for label, result in results if label["kind"] == "incident"]
    categories = [(label["category"], result.category or "-") for label, result in incidents]
    complete = [label["complete"] == (not result.incomplete) for label, result in results]
    missing = [list(result.missing) == label["missing"] for label, result in results]
    scores = {
        "kind": accuracy([expected == got for expected, got in kinds]),
        "category": accuracy([expected == got for expected, got in categories]),
        "complete": accuracy(complete),
        "missing": accuracy(missing),
    }
    with capsys.disabled():
        print(
            f"\nlabelled desk mail: {len(results)} mails; accuracy "
            + ", ".join(f"{name} {score:.0%}" for name, score in scores.items())
        )
        print(confusion(kinds, "kind"))
        print(confusion(categories, "category of incidents"))
    assert scores["category"] >= 0.90
    assert scores["complete"] >= 0.90
    assert scores["kind"] >= 0.95
    assert scores["missing"] >= 0.90


def test_every_user_admin_label_is_answered_with_the_forms_and_nothing_else_is(
    results: list[tuple[dict[str, Any], Classification]],
) -> None:
    for label, result in results:
        is_user_admin = label["kind"] == "user_admin"
        assert (result.kind == "user_admin") == is_user_admin, label["file"]
        assert (result.answer_template == "user_admin_forms") == is_user_admin, label["file"]
        assert result.close == is_user_admin, label["file"]


def test_bounces_and_auto_replies_get_no_acknowledgement(
    results: list[tuple[dict[str, Any], Classification]],
) -> None:
    for label, result in results:
        automatic = label["kind"] in ("bounce", "autoreply")
        assert result.acknowledge != automatic or result.close, label["file"]
