"""Test helper: raw mail bytes to a `ParsedMail`, with the stdlib only, tolerant of broken mail.

Intake has its own parser; the classifier tests must not depend on it, and they read real odd
mail (bounces, bad charsets, missing boundaries). This helper does what a simple parser does:
decoded headers, lower-case addresses, the first text/plain (or text/html) body, attachments
with their types, and the new text without quoted history, cut at the usual reply markers.
"""

from __future__ import annotations

import email
import email.header
import email.utils
import re
from email import policy
from email.message import Message

from mailintake.classifiers.mailtext import html_to_text
from mailintake.mail import Attachment, ParsedMail

_QUOTE_START = re.compile(
    r"^\s*(?:-{2,}\s*(?:original message|oorspronkelijk bericht|forwarded message|"
    r"doorgestuurd bericht)\s*-{2,}"
    r"|(?:op|on)\s.{0,200}?(?:schreef|wrote|geschreven)\s*.*:\s*$)",
    re.IGNORECASE | re.MULTILINE,
)
_OUTLOOK_FROM = re.compile(r"^\s*\*?(?:van|from)\s*:\*?\s+\S", re.IGNORECASE | re.MULTILINE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(?:verzonden|sent|date|datum)\s*:", re.IGNORECASE)


def _decode_header(raw: str) -> str:
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return raw


def _headers(message: Message) -> list[tuple[str, str]]:
    headers = []
    for name, raw in message.raw_items():
        try:
            value = str(policy.default.header_fetch_parse(name, raw))
        except Exception:  # broken headers are common in the corpus; keep the raw text
            value = _decode_header(str(raw))
        headers.append((name, " ".join(value.split())))
    return headers


def _addresses(values: list[str]) -> tuple[str, ...]:
    try:
        pairs = email.utils.getaddresses(values)
    except (ValueError, IndexError):
        return ()
    return tuple(address.lower() for _, address in pairs if "@" in address)


def _text_of(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        if isinstance(content, str):
            return content
    except Exception:  # unknown charsets and broken transfer encodings
        pass
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("utf-8", errors="replace")
    return ""


def _leaves(message: Message) -> list[Message]:
    """Leaf parts, with message/* parts kept whole (a bounce's returned mail is one part)."""
    if message.get_content_maintype() == "message" or not message.is_multipart():
        return [message]
    parts: list[Message] = []
    payload = message.get_payload()
    if isinstance(payload, list):
        for part in payload:
            if isinstance(part, Message):
                parts.extend(_leaves(part))
    return parts


def strip_quoted(text: str) -> str:
    """The text before the first reply or forward marker, without '>' lines or signature."""
    cut = len(text)
    quote = _QUOTE_START.search(text)
    if quote:
        cut = quote.start()
    for match in _OUTLOOK_FROM.finditer(text, 0, cut):
        following = text[match.end() :].splitlines()[1:4]
        if any(_OUTLOOK_NEXT.match(line) for line in following):
            cut = match.start()
            break
    lines = []
    for line in text[:cut].splitlines():
        if line.rstrip() == "--":
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines).strip()


def parse_eml(data: bytes) -> ParsedMail:
    message = email.message_from_bytes(data, policy=policy.default)
    headers = _headers(message)

    def first(name: str) -> str:
        return next((v for k, v in headers if k.lower() == name), "")

    def all_of(name: str) -> list[str]:
        return [v for k, v in headers if k.lower() == name]

    senders = email.utils.getaddresses([first("from")]) if first("from") else []
    from_name, from_address = senders[0] if senders else ("", "")
    text_part = html_part = None
    attachments = []
    for part in _leaves(message):
        content_type = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").lower()
        is_attachment = disposition.startswith("attachment") or bool(part.get_filename())
        if content_type == "text/plain" and text_part is None and not is_attachment:
            text_part = part
        elif content_type == "text/html" and html_part is None and not is_attachment:
            html_part = part
        else:
            payload = part.get_payload(decode=True) if not part.is_multipart() else None
            size = len(payload) if isinstance(payload, bytes) else 0
            try:
                filename = part.get_filename()
            except Exception:
                filename = None
            attachments.append(Attachment(filename, content_type, size))
    html = _text_of(html_part) if html_part is not None else None
    text = _text_of(text_part) if text_part is not None else (html_to_text(html) if html else "")
    return ParsedMail(
        message_id=first("message-id") or None,
        subject=first("subject"),
        from_address=from_address.lower(),
        from_name=from_name,
        to=_addresses(all_of("to")),
        cc=_addresses(all_of("cc")),
        reply_to=_addresses(all_of("reply-to")),
        in_reply_to=tuple(first("in-reply-to").split()),
        references=tuple(first("references").split()),
        headers=tuple(headers),
        text=text,
        new_text=strip_quoted(text),
        html=html,
        attachments=tuple(attachments),
    )


def make_mail(
    body: str = "",
    *,
    subject: str = "",
    sender: str = "someone@example.nl",
    headers: tuple[tuple[str, str], ...] = (),
    attachments: tuple[Attachment, ...] = (),
    to: tuple[str, ...] = ("support@cne.nl",),
    cc: tuple[str, ...] = (),
    quoted: str = "",
) -> ParsedMail:
    """A tiny inline mail for tests that pin one behaviour."""
    text = f"{body}\n\n{quoted}" if quoted else body
    return ParsedMail(
        message_id="<test@example.nl>",
        subject=subject,
        from_address=sender,
        to=to,
        cc=cc,
        headers=(("From", sender), ("Subject", subject), *headers),
        text=text,
        new_text=body,
        attachments=attachments,
    )
