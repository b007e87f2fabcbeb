"""Outgoing mail as RFC 5322 bytes: headers, threading, loop-prevention marks, both parts.

`compose` turns rendered words into the exact bytes the outbox stores and delivery sends. The
Message-ID is made here, before anything is sent, and returned, so the outbox row and the sent
mail carry the same one; its left part names the ticket ref and the purpose, e.g.
`<T-2026-000123.ack.5f0c9a1be2d4c6f7@example.nl>`, so a reply can be matched to its ticket even
when the subject was edited. Replies to a customer carry In-Reply-To and References. Every
automatic mail says so with `Auto-Submitted` (RFC 3834: `auto-replied` for answers to a
customer's mail, `auto-generated` for notices, warnings and dispatch) and asks Exchange not to
answer it with `X-Auto-Response-Suppress`. No `Precedence` header: RFC 3834 leaves it
unstandardised and mail filters read `bulk` as "newsletter", which an answer to a customer is
not. The envelope sender is the desk's own address (not `<>`), so bounces of dead customer
addresses come back to the desk, whose screen stage keeps them from causing more mail.
"""

from __future__ import annotations

import email.utils
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, Policy
from enum import StrEnum

from mailintake.mail import ParsedMail
from mailintake.notifier.templates import Rendered
from mailintake.signing import make_message_id as signed_message_id


class Purpose(StrEnum):
    """Why a mail is sent; stored in the outbox row and named in the Message-ID."""

    ACKNOWLEDGEMENT = "acknowledgement"
    CLARIFICATION = "clarification"
    USER_ADMIN_FORMS = "user_admin_forms"
    DISPATCH = "dispatch"
    SLA_WARNING = "sla_warning"
    MAINTENANCE_NOTICE = "maintenance_notice"
    MAINTENANCE_CANCELLED = "maintenance_cancelled"
    # An engineer's words relayed to the customer: written by a person, so not Auto-Submitted.
    RELAY = "relay"
    COMMAND_ERROR = "command_error"


# Short labels for the Message-ID's left part.
_LABELS = {
    Purpose.ACKNOWLEDGEMENT: "ack",
    Purpose.CLARIFICATION: "clarify",
    Purpose.USER_ADMIN_FORMS: "forms",
    Purpose.DISPATCH: "dispatch",
    Purpose.SLA_WARNING: "sla",
    Purpose.MAINTENANCE_NOTICE: "maint",
    Purpose.MAINTENANCE_CANCELLED: "maint-cancel",
    Purpose.RELAY: "reply",
    Purpose.COMMAND_ERROR: "cmd",
}
AUTO_REPLIED = frozenset({Purpose.ACKNOWLEDGEMENT, Purpose.CLARIFICATION, Purpose.USER_ADMIN_FORMS})
AUTO_GENERATED = frozenset(
    {
        Purpose.DISPATCH,
        Purpose.SLA_WARNING,
        Purpose.MAINTENANCE_NOTICE,
        Purpose.MAINTENANCE_CANCELLED,
        Purpose.COMMAND_ERROR,
    }
)
# "All" would also suppress non-delivery reports, and those are how the desk learns that a
# customer's address is dead; everything else (out-of-office, auto-replies, receipts) is asked
# to stay away.
AUTO_RESPONSE_SUPPRESS = "DR, RN, NRN, OOF, AutoReply"
# Keep References bounded the way mail clients do: the thread's root and the latest ones.
MAX_REFERENCES = 20
_NOT_ATEXT = re.compile(r"[^A-Za-z0-9-]+")


class FoldedSubject(str):
    """A Subject the email package stores as is and folds with `email.header` instead.

    The package's own folder, breaking a line before an encoded word that follows plain text,
    leaves the space on both sides of the fold, so readers show a doubled space. `Header`
    encodes a non-ASCII subject as whole encoded words, between which folding whitespace is
    ignored. (A header value with a `name` attribute is the policy's documented way in.)
    """

    name = "Subject"

    def fold(self, *, policy: Policy) -> str:
        charset = "us-ascii" if self.isascii() else "utf-8"
        header = Header(str(self), charset, policy.max_line_length, header_name=self.name)
        linesep = policy.linesep
        return f"{self.name}: {header.encode(linesep=linesep)}{linesep}"


@dataclass(frozen=True)
class Mailbox:
    """An address with an optional display name."""

    address: str
    name: str = ""

    def header(self) -> Address:
        local, _, domain = self.address.rpartition("@")
        return Address(display_name=self.name, username=local, domain=domain)


@dataclass(frozen=True)
class Parent:
    """The mail being answered: its Message-ID and the References it carried."""

    message_id: str
    references: tuple[str, ...] = ()

    @classmethod
    def of(cls, mail: ParsedMail) -> Parent | None:
        """The parent for a reply to `mail`; None if it has no Message-ID to refer to."""
        if not mail.message_id:
            return None
        references = mail.references or mail.in_reply_to[:1]
        return cls(mail.message_id, tuple(references))

    def thread(self) -> tuple[str, ...]:
        """The References of a reply: the parent's References, then the parent (RFC 5322
        3.6.4), without repeats, trimmed to the root and the most recent ones."""
        chain = list(dict.fromkeys((*self.references, self.message_id)))
        if len(chain) > MAX_REFERENCES:
            chain = [chain[0], *chain[-(MAX_REFERENCES - 1) :]]
        return tuple(chain)


@dataclass(frozen=True)
class ComposedMessage:
    """A mail ready for the outbox: its Message-ID, envelope recipients and exact bytes."""

    message_id: str
    purpose: Purpose
    recipients: tuple[str, ...]
    subject: str
    raw: bytes


def make_message_id(
    from_address: str, *, ref: str | None, purpose: Purpose, secret: bytes | None = None
) -> str:
    """A new, unique Message-ID in the desk's domain naming `ref` and `purpose`.

    With the desk's `secret` it is signed (`signing.make_message_id`), so a reply that quotes it
    is known to answer this ticket's mail and a forged one is not.
    """
    domain = from_address.rpartition("@")[2].strip().lower() or "localhost"
    # An internationalised domain must be ASCII in a header that cannot be RFC 2047-encoded.
    domain = domain.encode("idna").decode("ascii")
    prefix = _NOT_ATEXT.sub("-", ref).strip("-") if ref else None
    if secret is not None:
        return signed_message_id(secret, domain, ref=prefix or None, purpose=_LABELS[purpose])
    return f"<{prefix or 'desk'}.{_LABELS[purpose]}.{secrets.token_hex(8)}@{domain}>"


def compose(
    rendered: Rendered,
    *,
    purpose: Purpose,
    sender: Mailbox,
    to: Sequence[Mailbox],
    now: datetime,
    ref: str | None = None,
    cc: Sequence[Mailbox] = (),
    parent: Parent | None = None,
    zone: tzinfo | None = None,
    reply_to: Mailbox | None = None,
    secret: bytes | None = None,
) -> ComposedMessage:
    """Build the message; `parent` is the mail this one answers (threading headers).

    `ref` goes into the Message-ID (a ticket ref, or a maintenance reference); `zone` is the
    zone the Date header is written in (the desk's), UTC if not given.
    """
    if not to:
        raise ValueError("a message needs at least one To address")
    if now.tzinfo is None:
        raise ValueError("give `now` as an aware datetime")
    message_id = make_message_id(sender.address, ref=ref, purpose=purpose, secret=secret)
    message = EmailMessage(policy=SMTP)
    message["From"] = sender.header()
    message["To"] = [mailbox.header() for mailbox in to]
    if cc:
        message["Cc"] = [mailbox.header() for mailbox in cc]
    # Template output could hold a line break from a customer's subject; a header cannot.
    subject = " ".join(rendered.subject.split())
    message["Subject"] = FoldedSubject(subject)
    message["Date"] = email.utils.format_datetime(now.astimezone(zone) if zone else now)
    message["Message-ID"] = message_id
    if reply_to is not None:
        message["Reply-To"] = reply_to.header()
    if parent is not None:
        message["In-Reply-To"] = parent.message_id
        message["References"] = " ".join(parent.thread())
    if purpose in AUTO_REPLIED:
        message["Auto-Submitted"] = "auto-replied"
    elif purpose in AUTO_GENERATED:
        message["Auto-Submitted"] = "auto-generated"
    if purpose is not Purpose.RELAY:
        message["X-Auto-Response-Suppress"] = AUTO_RESPONSE_SUPPRESS
    if ref:
        message["X-Mailintake-Ref"] = ref
    # Quoted-printable keeps the bytes 7-bit, so a relay without 8BITMIME passes them unchanged.
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    if rendered.html is not None:
        message.add_alternative(
            rendered.html, subtype="html", charset="utf-8", cte="quoted-printable"
        )
    # After the body: setting content clears every Content-* header.
    message["Content-Language"] = rendered.language
    recipients = tuple(dict.fromkeys(mailbox.address for mailbox in (*to, *cc)))
    return ComposedMessage(
        message_id=message_id,
        purpose=purpose,
        recipients=recipients,
        subject=subject,
        raw=message.as_bytes(),
    )
