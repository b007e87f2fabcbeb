"""Bounce and auto-reply detection of the default rules, measured on real mail from other projects.

../shared/corpus/public holds 1 175 test messages from 15 projects (717 tagged bounce, 15
autoreply in categories.tsv). They stay outside the repository because several sources are
copyleft; the `corpus_dir` fixture skips with the reason when the folder is absent, and fails
under CI, which must provide it. Abuse feedback reports (ARF) are not auto-replies in the
corpus's tags, but the default rules deliberately send them no acknowledgement either; they are
counted as false positives in the raw rate and shown separately.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailintake.classifiers import classify, load_rules
from tests.classifiers.classifier_mail import parse_eml


def test_bounce_and_auto_reply_detection(
    corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = load_rules()
    public = corpus_dir / "public"
    rows = (public / "categories.tsv").read_text(encoding="utf-8").splitlines()[1:]
    counts = {"bounce": [0, 0], "autoreply": [0, 0], "neither": [0, 0]}
    bounce_claims = bounce_right = 0
    feedback_reports = 0
    for row in rows:
        path, _, tags = row.partition("\t")
        tagged = set(tags.split(","))
        truth = (
            "bounce" if "bounce" in tagged else "autoreply" if "autoreply" in tagged else "neither"
        )
        result = classify(
            parse_eml((public / path).read_bytes()), rules=rules, received_in_service_hours=True
        )
        is_bounce = result.auto_reply and "bounce" in result.tags
        detected = is_bounce if truth == "bounce" else result.auto_reply
        counts[truth][0] += 1
        counts[truth][1] += detected
        bounce_claims += is_bounce
        bounce_right += is_bounce and truth == "bounce"
        feedback_reports += truth == "neither" and "feedback-report" in result.tags
    bounce_recall = counts["bounce"][1] / counts["bounce"][0]
    bounce_precision = bounce_right / bounce_claims
    autoreply_recall = counts["autoreply"][1] / counts["autoreply"][0]
    neither, false_positives = counts["neither"]
    raw_fp_rate = false_positives / neither
    other_fp_rate = (false_positives - feedback_reports) / (neither - feedback_reports)
    with capsys.disabled():
        print(
            f"\npublic corpus: bounces {counts['bounce'][1]}/{counts['bounce'][0]} "
            f"(recall {bounce_recall:.3f}, precision {bounce_precision:.3f}); auto-replies "
            f"{counts['autoreply'][1]}/{counts['autoreply'][0]}; no acknowledgement for "
            f"{false_positives}/{neither} other mails ({raw_fp_rate:.1%}), of which "
            f"{feedback_reports} abuse feedback reports (rest {other_fp_rate:.1%})"
        )
    assert counts["bounce"][0] == 717 and counts["autoreply"][0] == 15
    assert bounce_recall >= 0.98
    assert bounce_precision >= 0.99
    assert autoreply_recall == 1.0
    assert raw_fp_rate <= 0.05
    assert other_fp_rate <= 0.01
