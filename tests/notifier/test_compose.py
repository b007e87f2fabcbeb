"""Composing: the headers and parts of outgoing mail, read back with the email package."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage

import pytest

from mailintake.intake.parse import parse
from mailintake.notifier.compose import (
    AUTO_RESPONSE_SUPPRESS,
    MAX_REFERENCES,
    Mailbox,
    Parent,
    Purpose,
    compose,
)
from mailintake.notifier.templates import Rendered, Templates
from tests.notifier.conftest import CUSTOMER, ENGINEERS, SENDER, T0, composed, sample

MESSAGE_ID = re.compile(r"<T-2026-000123\.ack\.[0-9a-f]{16}@example\.nl>")


def read(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if not part.is_multipart()
    }


def test_an_acknowledgement_has_the_headers_of_an_automatic_reply(templates: Templates) -> None:
    mail = composed(templates, sample("acknowledgement"))
    message = read(mail.raw)
    assert MESSAGE_ID.fullmatch(mail.message_id)
    assert message["Message-ID"] == mail.message_id
    assert message["From"] == "CNE Servicedesk <support@example.nl>"
    assert message["To"] == "Jan de Vries <jan@bakkerij-jansen.nl>"
    assert message["Subject"] == "[T-2026-000123] Ontvangen: Geen kiestoon op toestel 201"
    assert message["Date"] == "Mon, 02 Mar 2026 15:00:00 +0000"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["X-Auto-Response-Suppress"] == AUTO_RESPONSE_SUPPRESS
    assert message["X-Mailintake-Ref"] == "T-2026-000123"
    assert message["Content-Language"] == "nl"
    # RFC 3834: no Precedence on an answer to a customer.
    assert message["Precedence"] is None
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert set(body) == {"text/plain", "text/html"}
    assert "dinsdag 3 maart 2026 om 15:00" in body["text/plain"]
    assert "dinsdag 3 maart 2026 om 15:00" in body["text/html"]
    assert mail.recipients == ("jan@bakkerij-jansen.nl",)


def test_the_bytes_are_seven_bit_with_crlf_and_short_lines(templates: Templates) -> None:
    raw = composed(templates, sample("maintenance_notice")).raw
    assert max(raw) < 128
    lines = raw.split(b"\r\n")
    assert all(len(line) <= 998 and b"\n" not in line for line in lines)
    # Non-ASCII in the subject travels as an RFC 2047 encoded word.
    dutch = composed(templates, sample("acknowledgement", 0), language="nl")
    assert "één" in parts(read(dutch.raw))["text/plain"]


@pytest.mark.parametrize(
    ("kind", "auto_submitted"),
    [
        ("acknowledgement", "auto-replied"),
        ("clarification", "auto-replied"),
        ("user_admin_forms", "auto-replied"),
        ("dispatch", "auto-generated"),
        ("sla_warning", "auto-generated"),
        ("maintenance_notice", "auto-generated"),
        ("maintenance_cancelled", "auto-generated"),
    ],
)
def test_auto_submitted_says_reply_or_notice(
    templates: Templates, kind: str, auto_submitted: str
) -> None:
    message = read(composed(templates, sample(kind)).raw)
    assert message["Auto-Submitted"] == auto_submitted
    assert message["X-Auto-Response-Suppress"] == AUTO_RESPONSE_SUPPRESS


def test_message_ids_are_unique_and_name_the_ref_or_reference(templates: Templates) -> None:
    ids = {composed(templates, sample("acknowledgement")).message_id for _ in range(50)}
    assert len(ids) == 50
    notice = composed(templates, sample("maintenance_notice")).message_id
    assert re.fullmatch(r"<M-2026-0004\.maint\.[0-9a-f]{16}@example\.nl>", notice)
    forms = composed(templates, sample("user_admin_forms")).message_id
    assert re.fullmatch(r"<desk\.forms\.[0-9a-f]{16}@example\.nl>", forms)


def test_a_reply_to_a_customer_threads_under_their_mail(templates: Templates) -> None:
    raw = (
        b"From: Jan de Vries <jan@bakkerij-jansen.nl>\r\nTo: support@example.nl\r\n"
        b"Subject: Re: Storing\r\nMessage-ID: <three@klant.nl>\r\n"
        b"In-Reply-To: <two@klant.nl>\r\nReferences: <one@klant.nl> <two@klant.nl>\r\n"
        b"\r\nNog steeds geen kiestoon.\r\n"
    )
    parent = Parent.of(parse(raw).mail)
    assert parent is not None
    message = read(composed(templates, sample("acknowledgement"), parent=parent).raw)
    assert message["In-Reply-To"] == "<three@klant.nl>"
    assert message["References"] == "<one@klant.nl> <two@klant.nl> <three@klant.nl>"


def test_a_parent_without_references_uses_its_in_reply_to() -> None:
    raw = (
        b"From: jan@bakkerij-jansen.nl\r\nSubject: Re: x\r\nMessage-ID: <b@klant.nl>\r\n"
        b"In-Reply-To: <a@klant.nl>\r\n\r\ntekst\r\n"
    )
    parent = Parent.of(parse(raw).mail)
    assert parent is not None and parent.thread() == ("<a@klant.nl>", "<b@klant.nl>")


def test_a_mail_without_message_id_gets_no_threading_headers() -> None:
    raw = b"From: jan@bakkerij-jansen.nl\r\nSubject: x\r\n\r\ntekst\r\n"
    assert Parent.of(parse(raw).mail) is None


def test_long_threads_keep_the_root_and_the_latest_references() -> None:
    chain = tuple(f"<m{i}@klant.nl>" for i in range(40))
    thread = Parent("<m40@klant.nl>", chain).thread()
    assert len(thread) == MAX_REFERENCES
    assert thread[0] == "<m0@klant.nl>" and thread[-1] == "<m40@klant.nl>"


def test_dispatch_goes_to_the_engineers_without_reply_headers(templates: Templates) -> None:
    mail = composed(templates, sample("dispatch"), to=ENGINEERS, cc=(Mailbox("noc@example.nl"),))
    message = read(mail.raw)
    assert message["To"] == "engineers@example.nl"
    assert message["Cc"] == "noc@example.nl"
    assert message["In-Reply-To"] is None and message["References"] is None
    assert mail.recipients == ("engineers@example.nl", "noc@example.nl")


def test_a_relayed_engineer_reply_is_not_marked_automatic() -> None:
    rendered = Rendered(subject="Re: [T-2026-000123] Storing", text="Opgelost.\n", html=None,
                        language="nl")  # fmt: skip
    mail = compose(
        rendered, purpose=Purpose.RELAY, sender=SENDER, to=[CUSTOMER], now=T0,
        ref="T-2026-000123",
    )  # fmt: skip
    message = read(mail.raw)
    assert message["Auto-Submitted"] is None
    assert message["X-Auto-Response-Suppress"] is None
    assert message.get_content_type() == "text/plain"
    assert re.fullmatch(r"<T-2026-000123\.reply\.[0-9a-f]{16}@example\.nl>", mail.message_id)


def test_non_ascii_display_names_are_encoded(templates: Templates) -> None:
    mail = composed(
        templates, sample("acknowledgement"), to=Mailbox("jose@klant.nl", "José Müller")
    )
    raw_headers = mail.raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in raw_headers
    assert read(mail.raw)["To"] == "José Müller <jose@klant.nl>"


def test_compose_refuses_a_naive_time_and_no_recipients(templates: Templates) -> None:
    rendered = templates.render(sample("acknowledgement"))
    with pytest.raises(ValueError, match="aware"):
        compose(rendered, purpose=Purpose.ACKNOWLEDGEMENT, sender=SENDER, to=[CUSTOMER],
                now=T0.replace(tzinfo=None))  # fmt: skip
    with pytest.raises(ValueError, match="To"):
        compose(rendered, purpose=Purpose.ACKNOWLEDGEMENT, sender=SENDER, to=[], now=T0)
