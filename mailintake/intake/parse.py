"""Raw bytes to `ParsedMail`: mail-parser first, the standard library where mail-parser fails.

Real support mail is often broken (bad charsets, missing boundaries, TNEF, bounces), so every
step here tolerates damage: undecodable text is replaced rather than refused, and what was wrong
is listed in `defects`. Only bytes that are no message at all raise `NotAMessage`.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from typing import Any

import mailparser

from mailintake.headers import decode_bytes, decode_header_value, message_ids, normalize_message_id
from mailintake.intake.html_text import html_to_text
from mailintake.intake.quotes import split_reply
from mailintake.mail import Attachment, ParsedMail

BARE_ADDRESS = re.compile(r"[\w.+=-]+@[\w-]+(?:\.[\w-]+)+")
# Bytes that do not occur in text mail of any charset (ESC does, in ISO-2022-JP).
CONTROL_BYTES = frozenset(range(32)) - {9, 10, 12, 13, 27} | {127}


class NotAMessage(ValueError):
    """The bytes are not a mail message (empty, binary, no header)."""


@dataclass(frozen=True)
class AttachmentData:
    meta: Attachment
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Parsed:
    mail: ParsedMail
    attachments: tuple[AttachmentData, ...]
    parser: str


def check_is_message(raw: bytes) -> None:
    """Refuse input that cannot be a message, before it is spooled from a pipe.

    Only emptiness and binary data are refused: text with broken or missing headers is still
    someone's mail, so it is stored and flagged rather than sent back.
    """
    if not raw.strip():
        raise NotAMessage("empty input")
    sample = raw[:65536]
    controls = sum(1 for byte in sample if byte in CONTROL_BYTES)
    if controls > len(sample) // 100:
        raise NotAMessage(f"binary data ({controls} control bytes in {len(sample)}), not a mail")


def _addresses(values: list[Any]) -> list[tuple[str, str]]:
    decoded = [decode_header_value(v) for v in values]
    try:
        pairs = email.utils.getaddresses(decoded)
    except (RecursionError, ValueError, IndexError):
        # The stdlib recurses per token; a hostile header can exhaust the stack.
        pairs = [("", found) for found in BARE_ADDRESS.findall(" ".join(decoded))]
    return [(name.strip(), addr.strip().lower()) for name, addr in pairs if "@" in addr]


def _aware_date(value: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _common_fields(message: Message) -> dict[str, Any]:
    """Header-derived fields, read the same way whichever parser walked the body."""
    headers = tuple((key, decode_header_value(value)) for key, value in message.items())

    def all_of(name: str) -> list[Any]:
        # Values stay as the email package gives them: str() of a Header with raw UTF-8 in it
        # would turn each byte into a replacement character.
        return list(message.get_all(name) or [])

    sender = _addresses(all_of("From")) or _addresses(all_of("Sender"))
    name, address = sender[0] if sender else ("", "")
    return {
        "message_id": normalize_message_id(decode_header_value(message.get("Message-ID"))),
        "subject": decode_header_value(message.get("Subject")),
        "from_address": address,
        "from_name": name,
        "to": tuple(addr for _, addr in _addresses(all_of("To"))),
        "cc": tuple(addr for _, addr in _addresses(all_of("Cc"))),
        "reply_to": tuple(addr for _, addr in _addresses(all_of("Reply-To"))),
        "date": _aware_date(decode_header_value(message.get("Date"))),
        "in_reply_to": message_ids(decode_header_value(message.get("In-Reply-To"))),
        "references": message_ids(decode_header_value(message.get("References"))),
        "headers": headers,
    }


def parse(raw: bytes) -> Parsed:
    try:
        return _parse_with_mailparser(raw)
    except Exception as error:
        parsed = _parse_with_stdlib(raw)
        defect = f"mail-parser failed ({type(error).__name__}: {error}); parsed with email"
        return replace(parsed, mail=replace(parsed.mail, defects=(*parsed.mail.defects, defect)))


def _parse_with_mailparser(raw: bytes) -> Parsed:
    parsed = mailparser.parse_from_bytes(raw)
    message = parsed.message
    if message is None:
        raise ValueError("mail-parser returned no message")
    attachments = []
    for item in parsed.attachments:
        payload = item["payload"]
        if item.get("binary"):
            data = base64.b64decode(payload)
        else:
            data = payload.encode("utf-8", "surrogateescape")
        attachments.append(
            AttachmentData(
                Attachment(
                    filename=decode_header_value(item.get("filename")) or None,
                    content_type=item.get("mail_content_type") or "application/octet-stream",
                    size=len(data),
                ),
                data,
            )
        )
    html = "\n".join(parsed.text_html) or None
    text = "\n".join(parsed.text_plain)
    if not text.strip() and html:
        text = html_to_text(html)
    defects = tuple(sorted(parsed.defects_categories))
    mail = ParsedMail(
        **_common_fields(message),
        text=text,
        new_text=split_reply(text, html=html).new_text,
        html=html,
        attachments=tuple(a.meta for a in attachments),
        defects=defects,
    )
    return Parsed(mail, tuple(attachments), "mail-parser")


def _parse_with_stdlib(raw: bytes) -> Parsed:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    plain: list[str] = []
    html_parts: list[str] = []
    attachments: list[AttachmentData] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = str(part.get_payload()).encode("utf-8", "replace")
        content_type = part.get_content_type()
        filename = decode_header_value(part.get_filename()) or None
        disposition = (part.get_content_disposition() or "").lower()
        if filename or disposition == "attachment" or not content_type.startswith("text/"):
            attachments.append(AttachmentData(Attachment(filename, content_type, len(data)), data))
            continue
        text = decode_bytes(data, part.get_content_charset())
        (html_parts if content_type == "text/html" else plain).append(text)
    html = "\n".join(html_parts) or None
    text = "\n".join(plain)
    if not text.strip() and html:
        text = html_to_text(html)
    mail = ParsedMail(
        **_common_fields(message),
        text=text,
        new_text=split_reply(text, html=html).new_text,
        html=html,
        attachments=tuple(a.meta for a in attachments),
        defects=tuple(type(d).__name__ for d in message.defects),
    )
    return Parsed(mail, tuple(attachments), "email")
