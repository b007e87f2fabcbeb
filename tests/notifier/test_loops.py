"""Loop protection: which mail gets no automatic reply (RFC 3834), and the hourly limit."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mailintake.intake.parse import parse
from mailintake.mail import ParsedMail
from mailintake.notifier.loops import should_acknowledge, within_rate_limit

OURS = ("support@example.nl", "engineers@example.nl")


def mail(*headers: str, sender: str = "Jan de Vries <jan@bakkerij-jansen.nl>",
         content_type: str = "text/plain; charset=utf-8",
         body: str = "Geen kiestoon op toestel 201.") -> ParsedMail:  # fmt: skip
    lines = [f"From: {sender}", "To: support@example.nl", "Subject: Storing",
             "Message-ID: <1@klant.nl>", f"Content-Type: {content_type}", *headers]  # fmt: skip
    return parse(("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode()).mail


def decide(parsed: ParsedMail, envelope_from: str | None = "jan@bakkerij-jansen.nl"):  # type: ignore[no-untyped-def]
    return should_acknowledge(parsed, our_addresses=OURS, envelope_from=envelope_from)


def test_an_ordinary_mail_from_a_customer_is_acknowledged() -> None:
    assert decide(mail()) == (True, "an ordinary mail from a person")
    assert decide(mail("Auto-Submitted: no")).acknowledge


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@y.nl", "Auto-Submitted: auto-generated"),
        ("Auto-Submitted: auto-notified", "Auto-Submitted: auto-notified"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: Junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("List-Id: <klanten.lists.example.com>", "mailing-list mail (List-Id)"),
        ("List-Unsubscribe: <mailto:leave@lists.example.com>", "mailing-list mail"),
        ("X-Autoreply: yes", "automatic reply (X-Autoreply)"),
        ("X-Autorespond: Out of office", "automatic reply (X-Autorespond)"),
        ("X-Auto-Response-Suppress: All", "sender asks for no automatic replies"),
        ("X-Auto-Response-Suppress: DR, AutoReply", "sender asks for no automatic replies"),
    ],
)
def test_automatic_and_bulk_mail_is_not_acknowledged(header: str, reason: str) -> None:
    decision = decide(mail(header))
    assert not decision.acknowledge
    assert decision.reason.startswith(reason)


@pytest.mark.parametrize("envelope_from", ["", "<>", " <> "])
def test_a_null_return_path_is_not_acknowledged(envelope_from: str) -> None:
    assert decide(mail(), envelope_from=envelope_from).reason.startswith("null return path")


def test_without_an_envelope_the_return_path_header_is_read() -> None:
    assert not decide(mail("Return-Path: <>"), envelope_from=None).acknowledge
    assert decide(mail("Return-Path: <jan@bakkerij-jansen.nl>"), envelope_from=None).acknowledge


def test_a_delivery_status_report_is_not_acknowledged() -> None:
    report = mail(
        sender="Mail Delivery System <mailer-daemon@mx.klant.nl>",
        content_type='multipart/report; report-type=delivery-status; boundary="b"',
        body="--b\r\nContent-Type: text/plain\r\n\r\nUndeliverable\r\n--b\r\n"
        "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.klant.nl\r\n"
        "\r\nFinal-Recipient: rfc822; jan@klant.nl\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--",
    )  # fmt: skip
    assert decide(report, envelope_from="").reason.startswith("null return path")
    assert decide(report).reason.startswith("delivery or disposition report")


@pytest.mark.parametrize(
    "sender",
    ["support@example.nl", "SUPPORT@Example.NL", "support+T-2026-000123@example.nl",
     "engineers@example.nl"],
)  # fmt: skip
def test_mail_from_our_own_addresses_is_not_acknowledged(sender: str) -> None:
    assert decide(mail(sender=sender)).reason.startswith("sent from our own address")


def test_an_envelope_sender_of_ours_is_not_acknowledged() -> None:
    decision = decide(mail(), envelope_from="support@example.nl")
    assert decision.reason.startswith("return path is our own address")


@pytest.mark.parametrize(
    ("sender", "reason"),
    [("MAILER-DAEMON@mx.klant.nl", "sent by a mail system"),
     ("postmaster@klant.nl", "sent by a mail system"),
     ("no-reply@portal.klant.nl", "a no-reply address"),
     ("noreply@klant.nl", "a no-reply address")],
)  # fmt: skip
def test_mail_systems_and_no_reply_addresses_are_not_acknowledged(sender: str, reason: str) -> None:
    assert decide(mail(sender=sender), envelope_from=sender).reason.startswith(reason)


def test_a_mail_without_a_sender_is_not_acknowledged() -> None:
    assert decide(mail(sender="undisclosed-recipients:;")).reason == "no sender address to answer"


def test_the_rate_limit_allows_n_replies_per_sender_per_hour() -> None:
    assert within_rate_limit(0, limit=5).acknowledge
    assert within_rate_limit(4, limit=5).acknowledge
    refused = within_rate_limit(5, limit=5)
    assert not refused.acknowledge
    assert (
        refused.reason
        == "rate limit: 5 automatic replies to this sender in the last hour (limit 5)"
    )


def test_real_bounces_and_auto_replies_are_not_acknowledged(corpus_dir: Path) -> None:
    """The shared corpus's bounces and auto-replies (sisimai, flufl.bounce, Zammad, …): nearly
    all carry a mark RFC 3834 or a vendor defines. The few that do not are bounces that only
    their subject line gives away ("Returned mail"), which we do not guess at."""
    public = corpus_dir / "public"
    with (public / "categories.tsv").open(encoding="utf-8") as tags_file:
        rows = list(csv.DictReader(tags_file, delimiter="\t"))
    automatic = [
        row["path"] for row in rows if {"bounce", "autoreply"} & set(row["tags"].split(","))
    ]
    assert len(automatic) > 700
    acknowledged = [
        path for path in automatic
        if decide(parse((public / path).read_bytes()).mail, envelope_from=None).acknowledge
    ]  # fmt: skip
    assert len(acknowledged) <= 0.03 * len(automatic), acknowledged
