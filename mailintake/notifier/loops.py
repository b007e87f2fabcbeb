"""Loop protection: when not to answer a mail automatically (RFC 3834), and how often.

Two autoresponders answering each other can fill both mailboxes in minutes, and a desk that
acknowledges bounces, mailing lists or its own mail makes noise at best. `should_acknowledge`
applies RFC 3834 section 2 and the usual vendor headers to a parsed mail and says why not;
`within_rate_limit` caps automatic replies per sender per hour, with the count taken from the
outbox by the caller (`outbox.recent_auto_replies`). Both are pure. They decide only about the
acknowledgement: the mail is still a ticket or a reply on one, whatever they say.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from mailintake.mail import ParsedMail

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
# Headers that only mailing lists and bulk senders add (RFC 2369, RFC 2919).
LIST_HEADERS = ("List-Id", "List-Unsubscribe")
# Vendor headers marking a mail as an automatic reply, whatever their value.
AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond")
# Exchange's "do not auto-answer me" values that cover an acknowledgement.
SUPPRESS_VALUES = frozenset({"all", "autoreply"})
# Senders that are mail systems, not people, when a bounce is not a proper DSN, and addresses
# that say no answer is read (an acknowledgement would only bounce).
SYSTEM_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
NO_REPLY_LOCAL_PARTS = frozenset({"noreply", "no-reply", "donotreply", "do-not-reply"})


class Decision(NamedTuple):
    """Whether to acknowledge, and the reason (logged, and shown when a rule is tested)."""

    acknowledge: bool
    reason: str


def _base(address: str) -> str:
    """`local+tag@domain` → `local@domain`, lower case, so plus-addressed copies match."""
    local, at, domain = address.strip().strip("<>").lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def _null_path(value: str | None) -> bool:
    return value is not None and value.strip() in ("", "<>")


def should_acknowledge(
    mail: ParsedMail, *, our_addresses: Iterable[str], envelope_from: str | None
) -> Decision:
    """RFC 3834 screening for an automatic reply to `mail`.

    `envelope_from` is the SMTP MAIL FROM as received ("" or "<>" for the null path), or None
    when unknown (IMAP, pipe), in which case the Return-Path header is read instead.
    """
    return_path = envelope_from if envelope_from is not None else mail.header("Return-Path")
    if _null_path(return_path):
        return Decision(False, "null return path (a bounce or other delivery report)")
    auto_submitted = mail.header("Auto-Submitted")
    if auto_submitted is not None:
        value = auto_submitted.split(";", 1)[0].strip().lower()
        if value != "no":
            return Decision(False, f"Auto-Submitted: {value}")
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return Decision(False, f"Precedence: {precedence}")
    for name in LIST_HEADERS:
        if mail.header(name) is not None:
            return Decision(False, f"mailing-list mail ({name})")
    for name in AUTOREPLY_HEADERS:
        if mail.header(name) is not None:
            return Decision(False, f"automatic reply ({name})")
    suppress = mail.header("X-Auto-Response-Suppress") or ""
    if {part.strip().lower() for part in suppress.split(",")} & SUPPRESS_VALUES:
        return Decision(
            False,
            f"sender asks for no automatic replies (X-Auto-Response-Suppress: {suppress.strip()})",
        )
    content_type = (mail.header("Content-Type") or "").lower()
    if content_type.startswith("multipart/report"):
        return Decision(False, "delivery or disposition report (multipart/report)")
    if any(a.content_type.lower() == "message/delivery-status" for a in mail.attachments):
        return Decision(False, "delivery status report")
    if not mail.from_address:
        return Decision(False, "no sender address to answer")
    ours = {_base(address) for address in our_addresses}
    if _base(mail.from_address) in ours:
        return Decision(False, f"sent from our own address {mail.from_address}")
    if return_path and _base(return_path) in ours:
        return Decision(False, f"return path is our own address {return_path.strip()}")
    for address in (mail.from_address, return_path or ""):
        local = _base(address).partition("@")[0]
        if local in SYSTEM_LOCAL_PARTS:
            return Decision(False, f"sent by a mail system ({address.strip()})")
        if local in NO_REPLY_LOCAL_PARTS:
            return Decision(False, f"a no-reply address ({address.strip()})")
    return Decision(True, "an ordinary mail from a person")


def within_rate_limit(sent_last_hour: int, *, limit: int) -> Decision:
    """Whether one more automatic reply to a sender keeps within `limit` per hour."""
    if sent_last_hour >= limit:
        return Decision(
            False,
            f"rate limit: {sent_last_hour} automatic replies to this sender in the last hour"
            f" (limit {limit})",
        )
    return Decision(True, f"{sent_last_hour} of {limit} automatic replies in the last hour")
