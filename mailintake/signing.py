"""Signed Message-IDs and reply addresses, so a mail can prove which ticket it belongs to.

Every tag is HMAC-SHA256 under the desk's secret, over a labelled, versioned text (so a tag
made for one purpose never verifies for another), cut to 13 base32 characters: 65 bits. Nobody
can test a guess offline, only by sending a mail per try, so 65 bits is far out of reach, and
the short tag keeps a reply address inside the 64-octet local part of RFC 5321. Base32 in lower
case, and every text compared case-insensitively, because some MTAs and clients fold the case
of addresses and Message-IDs (the parser lower-cases every address); refs come back upper-case,
the form `allocate_ref` writes.

- Message-ID: `<T-2026-000123.ack.<nonce>.<tag>@example.nl>`, or `<maint.<nonce>.<tag>@…>`
  without a ref. The nonce (64 random bits) makes it unique; the tag covers ref, purpose and
  nonce but not the domain, so a desk that moves to another domain keeps its threads.
- Reply address: `support+T-2026-000123.<tag>@example.nl` for everyone in the ticket's thread,
  or `support+T-2026-000123.<tag>.<holder tag>@example.nl` for one person (an engineer): the
  first tag proves the ticket, the second that the address was given to that person, which the
  `token` trust mode needs (a customer's copy must not let them pass for an engineer).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

TAG_CHARS = 13
NONCE_BYTES = 8
# Shorter secrets are refused: a typo'd or truncated secret file must not sign anything.
MIN_SECRET_BYTES = 16
SECRET_BYTES = 32
# A ref or purpose is one dot-free atom, so the dots of the layout can be split on.
_ATOM = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")
_TAG = re.compile(rf"[a-z2-7]{{{TAG_CHARS}}}")
_NONCE = re.compile(r"[a-z2-7]{13}")

# Labels that keep the three kinds of tag apart; `v1` lets a later layout live beside this one.
_MESSAGE_ID = b"mailintake message-id v1"
_REPLY = b"mailintake reply-address v1"
_HOLDER = b"mailintake reply-holder v1"


class SecretFileError(Exception):
    """The secret file cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class SignedMessageId:
    """What one of our Message-IDs says: its ticket (None for desk-wide mail) and purpose."""

    ref: str | None
    purpose: str


def _tag(secret: bytes, label: bytes, *fields: str) -> str:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the signing secret needs at least {MIN_SECRET_BYTES} bytes")
    text = b"\0".join([label, *(field.lower().encode("utf-8") for field in fields)])
    digest = hmac.new(secret, text, hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode("ascii")[:TAG_CHARS].lower()


def _matches(secret: bytes, tag: str, label: bytes, *fields: str) -> bool:
    # Constant time, so the answer's timing tells nothing about how much of a guess was right.
    return hmac.compare_digest(tag.lower().encode(), _tag(secret, label, *fields).encode())


def _atom(value: str, what: str) -> str:
    if not _ATOM.fullmatch(value):
        raise ValueError(f"{what} {value!r} must be letters, digits and inner hyphens")
    return value


def make_message_id(secret: bytes, domain: str, *, ref: str | None, purpose: str) -> str:
    """A new, unique, signed Message-ID in `domain` naming `ref` (may be None) and `purpose`."""
    _atom(purpose, "purpose")
    if ref is not None:
        _atom(ref, "ref")
    host = domain.strip().lower().rstrip(".")
    if not host:
        raise ValueError("a Message-ID needs a domain")
    # An internationalised domain must be ASCII in a header that cannot be RFC 2047-encoded.
    host = host.encode("idna").decode("ascii")
    nonce = base64.b32encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii").rstrip("=").lower()
    tag = _tag(secret, _MESSAGE_ID, ref or "", purpose, nonce)
    left = ".".join([*([ref] if ref else []), purpose, nonce, tag])
    return f"<{left}@{host}>"


def parse_message_id(secret: bytes, message_id: str) -> SignedMessageId | None:
    """What `message_id` says when it is one of ours and its tag verifies; None otherwise."""
    text = message_id.strip().removeprefix("<").removesuffix(">")
    left, at, _domain = text.rpartition("@")
    if not at:
        return None
    parts = left.split(".")
    if len(parts) == 4:
        ref, purpose, nonce, tag = parts
    elif len(parts) == 3:
        ref, (purpose, nonce, tag) = "", parts
    else:
        return None
    if ref and not _ATOM.fullmatch(ref):
        return None
    if not (_ATOM.fullmatch(purpose) and _NONCE.fullmatch(nonce.lower())):
        return None
    if not _TAG.fullmatch(tag.lower()):
        return None
    if not _matches(secret, tag, _MESSAGE_ID, ref, purpose, nonce):
        return None
    return SignedMessageId(ref.upper() or None, purpose.lower())


def read_message_id(secret: bytes, message_id: str) -> str | None:
    """The ticket ref in one of our Message-IDs when its tag verifies; None otherwise.

    A desk-wide Message-ID (no ref) verifies but names no ticket, so it gives None too.
    """
    signed = parse_message_id(secret, message_id)
    return signed.ref if signed else None


def reply_address(
    secret: bytes, support_address: str, ref: str, *, holder: str | None = None
) -> str:
    """`support+REF.<tag>@domain`; with `holder`, an address only that person can pass for.

    Give engineers a holder address (their Reply-To on dispatch mail) and everyone else the
    plain one; never put an engineer's address in a mail to a customer.
    """
    _atom(ref, "ref")
    local, at, domain = support_address.strip().rpartition("@")
    if not (local and at and domain):
        raise ValueError(f"{support_address!r} is not an address; write e.g. 'support@example.nl'")
    token = _tag(secret, _REPLY, ref)
    if holder is not None:
        token += "." + _tag(secret, _HOLDER, ref, holder.strip())
    return f"{local}+{ref}.{token}@{domain.lower()}"


def read_reply_address(secret: bytes, address: str, *, holder: str | None = None) -> str | None:
    """The ticket ref of a reply address whose token verifies; None for any other address.

    With `holder`, only an address made for that person (see `reply_address`) verifies.
    """
    local, at, _domain = address.strip().removeprefix("<").removesuffix(">").rpartition("@")
    _mailbox, plus, detail = local.rpartition("+")
    if not (at and plus):
        return None
    ref, *tags = detail.split(".")
    if not _ATOM.fullmatch(ref) or len(tags) not in (1, 2):
        return None
    if not all(_TAG.fullmatch(tag.lower()) for tag in tags):
        return None
    if not _matches(secret, tags[0], _REPLY, ref):
        return None
    if holder is None:
        return ref.upper()
    if len(tags) == 2 and _matches(secret, tags[1], _HOLDER, ref, holder.strip()):
        return ref.upper()
    return None


def load_or_create_secret(path: Path) -> bytes:
    """The desk's signing secret from `path`, made (32 random bytes) when the file is absent.

    The file holds the secret in hex on one line, so it can be backed up or made by hand
    (`openssl rand -hex 32`). A file that group or others may read or write is refused, not
    warned about: whoever reads it can forge ticket links and reply tokens, whoever writes it
    can swap it, and a warning scrolls by while the secret stays exposed.
    """
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    try:
        _create_secret(path)
    except OSError as error:
        raise SecretFileError(
            f"cannot create the secret file {path}: {error.strerror or error}; "
            "make its folder writable for the daemon, or create the file yourself"
        ) from None
    return _read_secret(path)


def _create_secret(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(SECRET_BYTES).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # A link, not a rename: two daemons starting at once must not each keep a secret of
        # their own, so the second one finds the first one's file and uses that.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    # The new name must survive a crash too, or a restart would sign with a different secret.
    descriptor = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_secret(path: Path) -> bytes:
    """Raises FileNotFoundError for a missing file, SecretFileError for one that is unusable."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise
    except OSError as error:
        raise SecretFileError(f"cannot read {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise SecretFileError(f"{path} is not a file; point the setting at the secret file")
    if mode & 0o077:
        raise SecretFileError(
            f"{path} may be read or changed by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`, and replace the secret if others may have read it"
        )
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError as error:
        raise SecretFileError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        secret = bytes.fromhex(text)
    except ValueError:
        secret = b""
    if len(secret) < MIN_SECRET_BYTES:
        raise SecretFileError(
            f"{path} must hold at least {MIN_SECRET_BYTES} bytes in hex on one line; "
            "delete it to have a new one made, or write one with `openssl rand -hex 32`"
        )
    return secret
