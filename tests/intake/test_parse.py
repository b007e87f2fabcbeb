"""Parsing real-world mail: odd charsets, encoded words, HTML-only bodies, broken MIME."""

from __future__ import annotations

import pytest

from mailintake.intake.parse import NotAMessage, check_is_message, parse

LATIN1 = (
    b"From: =?ISO-8859-1?Q?Ren=E9e_Dani=EBls?= <Renee@Klant.NL>\r\n"
    b"To: support@example.nl\r\n"
    b"Subject: =?ISO-8859-1?Q?Storing_bij_de_receptie_=96_geen_kiestoon?=\r\n"
    b"Message-ID: <latin1@klant.nl>\r\n"
    b"Date: Mon, 23 Nov 2026 16:00:00 +0100\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=ISO-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n\r\n"
    b"Het toestel in de receptie geeft geen kiestoon meer. Co\xf6rdinatie graag.\r\n"
    b"Locatie: Hoofdstraat 1, Utrecht\r\n"
)

HTML_ONLY = (
    b"From: helpdesk@klant.nl\r\nTo: support@example.nl\r\nSubject: HTML\r\n"
    b"Message-ID: <html@klant.nl>\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><head><style>p {color: red}</style><script>alert(1)</script></head><body>"
    b"<p>Beste support,</p><p>Onze <b>SIP-trunk</b> is down sinds 09:00.</p>"
    b"<ul><li>Locatie: Utrecht</li><li>Toestel 201</li></ul>"
    b'<p>Zie <a href="https://status.example.nl/x">status</a>.</p></body></html>\r\n'
)

MALFORMED = (
    b"From: broken@klant.nl\r\nTo: support@example.nl\r\nSubject: kapot\r\n"
    b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="XYZ"\r\n\r\n'
    b"--XYZ\r\nContent-Type: text/plain\r\n\r\ntext zonder einde\r\n"
    b'--XYZ\r\nContent-Type: application/pdf; name="offerte.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
)


def test_iso_8859_1_body_and_encoded_word_subject_and_name() -> None:
    mail = parse(LATIN1).mail
    assert mail.subject == "Storing bij de receptie – geen kiestoon"
    assert mail.from_address == "renee@klant.nl"
    assert mail.from_name == "Renée Daniëls"
    assert "Coördinatie graag." in mail.text
    assert mail.date is not None and mail.date.isoformat() == "2026-11-23T15:00:00+00:00"
    assert mail.message_id == "<latin1@klant.nl>"


def test_html_only_mail_becomes_readable_text() -> None:
    mail = parse(HTML_ONLY).mail
    assert mail.html is not None
    assert "Onze SIP-trunk is down sinds 09:00." in mail.text
    assert "- Locatie: Utrecht" in mail.text
    assert "status <https://status.example.nl/x>" in mail.text
    assert "alert" not in mail.text and "color" not in mail.text


def test_malformed_mime_is_parsed_with_its_defects_and_attachment() -> None:
    parsed = parse(MALFORMED)
    assert "text zonder einde" in parsed.mail.text
    assert parsed.mail.defects
    [attachment] = parsed.attachments
    assert attachment.meta.filename == "offerte.pdf"
    assert attachment.data == b"%PDF-1.4\n"
    assert attachment.meta.size == 9


def test_references_and_reply_headers() -> None:
    raw = (
        b"From: a@klant.nl\r\nSubject: Re: x\r\nIn-Reply-To: <b@desk>\r\n"
        b"References: <a@desk>\r\n <b@desk>\r\nMessage-ID: c@klant\r\n\r\nok\r\n"
    )
    mail = parse(raw).mail
    assert mail.in_reply_to == ("<b@desk>",)
    assert mail.references == ("<a@desk>", "<b@desk>")
    assert mail.message_id == "<c@klant>"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b"  \r\n\r\n", "empty"),
        (b"\x00\x01\x02binary\x00garbage", "binary"),
        (bytes(range(256)) * 16, "binary"),
        (b"\x1f\x8b\x08\x00" + b"compressed" * 10, "binary"),
    ],
)
def test_not_a_message(raw: bytes, reason: str) -> None:
    with pytest.raises(NotAMessage, match=reason):
        check_is_message(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: nothing else\r\n",
        b"just some words\nwithout any header\n",
        "Caf\u00e9 \u65e5\u672c".encode() + b"\x1b$B\x1b(B\r\n",
    ],
)
def test_text_with_odd_or_no_headers_is_still_a_message(raw: bytes) -> None:
    check_is_message(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"From: a@b\r\nMessage-ID: <x@y>\r\n\r\nMessage-ID: <body@x>\r\n", "<x@y>"),
        (b"Message-Id:\r\n <folded@x>\r\n\r\nbody\r\n", "<folded@x>"),
        (b"message-id: bare@x\n\nbody\n", "<bare@x>"),
        (b"Subject: x\r\n\r\nMessage-ID: <only-in-body@x>\r\n", None),
    ],
)
def test_the_spool_reads_the_message_id_from_the_header_block_only(
    raw: bytes, expected: str | None
) -> None:
    from mailintake.headers import header_message_id

    assert header_message_id(raw) == expected
