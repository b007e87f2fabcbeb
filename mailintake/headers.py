"""Reading header values: Message-IDs and RFC 2047 words, tolerant of broken mail.

Shared by the sources (which note a Message-ID when they spool), the parser and threading.
"""

from __future__ import annotations

import email.header
import email.policy
import re
from email.parser import BytesHeaderParser
from typing import Any

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
PLAIN_MESSAGE_ID = re.compile(
    rb"^Message-ID:[ \t]*(<[!-;=?-~]+>)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE
)
HEADER_SCAN_BYTES = 16384


def header_message_id(raw: bytes) -> str | None:
    """The Message-ID from the header block alone; cheap enough for the SMTP hot path.

    A plain `Message-ID: <…>` line near the top is read with a regular expression; anything
    else (folded, encoded, odd) goes through the email package's header parser.
    """
    head = raw[:HEADER_SCAN_BYTES]
    end = head.find(b"\r\n\r\n")
    end = head.find(b"\n\n") if end < 0 else end
    found = PLAIN_MESSAGE_ID.search(head if end < 0 else head[:end])
    if found:
        return found.group(1).decode("ascii")
    try:
        headers = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)
        return normalize_message_id(decode_header_value(headers.get("Message-ID")))
    except Exception:
        return None


def normalize_message_id(value: str | None) -> str | None:
    if not value:
        return None
    found = MESSAGE_ID.search(value)
    if found:
        return found.group(0)
    value = value.strip()
    if not value or " " in value:
        return None
    return f"<{value}>"


def message_ids(value: str | None) -> tuple[str, ...]:
    return tuple(MESSAGE_ID.findall(value or ""))


def decode_header_value(value: Any) -> str:
    """A header value as text, decoding RFC 2047 words and surviving bad charsets."""
    if value is None:
        return ""
    try:
        parts = email.header.decode_header(value)
    except Exception:
        return str(value)
    decoded = []
    for chunk, charset in parts:
        if isinstance(chunk, bytes):
            decoded.append(decode_bytes(chunk, charset))
        else:
            decoded.append(chunk)
    return re.sub(r"\s*\r?\n\s*", " ", "".join(decoded)).strip()


# Mail clients write windows-1252 and label it ISO-8859-1; decode it as browsers do (WHATWG).
CHARSET_ALIASES = {"iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252",
                   "latin-1": "cp1252", "l1": "cp1252"}  # fmt: skip


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from bytes in a declared charset, then UTF-8, then windows-1252; never raises.

    An unknown or wrong charset label ("unknown-8bit" for raw 8-bit header bytes, "UFT-8") falls
    through to the next guess.
    """
    if charset:
        charset = CHARSET_ALIASES.get(charset.strip().lower(), charset.strip())
    for candidate in (charset, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")
