"""The parsed form of one mail, as every room sees it.

`intake.parse` turns raw bytes into a `ParsedMail`; the classifier, the threading code and the
notifier read it. It is plain data on purpose: rooms share this shape, not each other's internals.
Addresses are lower-cased addr-specs; times are aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Attachment:
    """One attachment as the ticket lists it; the bytes live in storage."""

    filename: str | None
    content_type: str
    size: int


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    subject: str
    from_address: str
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    date: datetime | None = None
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    text: str = ""
    # The text the sender wrote in this mail, without quoted history or signature; rules and
    # completeness checks look only at this.
    new_text: str = ""
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    defects: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    @property
    def sender_domain(self) -> str:
        return self.from_address.rpartition("@")[2]
