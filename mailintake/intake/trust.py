"""Whether a mail whose From names an engineer really comes from that engineer.

A From header is whatever the sender typed, so it earns engineer rights (commands, relaying,
stopping the response clock) only together with proof, checked one way, chosen in config:

- `authres`: the topmost Authentication-Results header (RFC 8601) written by our own MX (its
  authserv-id is listed) says `dkim=pass` for a domain aligned with the From domain, or
  `auth=pass smtp.auth=<the From address>`. Headers with other authserv-ids are ignored: anyone
  can write them. Only the topmost one of ours counts, because our MX prepends its header above
  everything the sender wrote; a forged copy with our id lies lower and is never read, even on
  an MX that does not delete such copies as RFC 8601 §5 asks. An MX that splits its results
  over several headers must put the DKIM (or auth) result in its topmost one.
- `dkim`: a DKIM signature verified here (dkimpy) by a domain aligned with the From domain,
  that signs the From header and the whole body (no `l=`, which would let anyone append text).
- `token`: the mail went to a reply address made for this engineer (`signing.reply_address`
  with `holder=`); the verdict names that address's ticket.

Alignment is DMARC's: `strict` wants the very From domain, `relaxed` also a parent or a
subdomain of it. A From on the list that fails its check is a suspect: the caller handles the
mail as a customer's and flags it. DNS that times out raises `TrustUnavailable` (try later),
so a DNS hiccup never brands an engineer a spoofer. `dkim` mode looks up DNS: call
`check_engineer` off the event loop.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mailintake.mail import ParsedMail
from mailintake.sections import Section
from mailintake.signing import read_reply_address

# dkimpy's `dnsfunc`: (name: bytes, timeout=seconds) -> the TXT record, or None when none exists.
DnsLookup = Callable[..., bytes | str | None]

logger = logging.getLogger("mailintake.trust")


class TrustUnavailable(Exception):
    """The check could not be made now (DNS timed out); process the mail again later."""


class TrustSettings(Section):
    mode: Literal["authres", "dkim", "token"] = Field(
        "dkim",
        description="authres: our MX's Authentication-Results; dkim: verify here; "
        "token: the engineer's own reply address",
    )
    authserv_ids: list[str] = Field(
        default_factory=list,
        description="authserv-ids of our own MX (first word of its Authentication-Results)",
    )
    dkim_alignment: Literal["relaxed", "strict"] = Field(
        "relaxed", description="strict: DKIM d= must be the From domain; relaxed: or related"
    )

    @field_validator("authserv_ids")
    @classmethod
    def _plain_ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not item.strip() or re.search(r'[\s;()"=]', item.strip()):
                raise ValueError(f"{item!r} is not an authserv-id; write e.g. 'mx.example.nl'")
        return [item.strip().lower() for item in value]

    @model_validator(mode="after")
    def _authres_needs_ids(self) -> TrustSettings:
        if self.mode == "authres" and not self.authserv_ids:
            raise ValueError(
                "mode 'authres' needs authserv_ids: the name your MX writes first in its "
                "Authentication-Results headers, e.g. ['mx.example.nl']"
            )
        return self


@dataclass(frozen=True)
class Verdict:
    """Who the mail is from as far as engineer rights go, and why.

    `engineer` is set only when `trusted`. `claimed` is the listed engineer the From names,
    also when the check failed: then the mail is a suspect, to be flagged.
    """

    engineer: str | None
    trusted: bool
    reason: str
    claimed: str | None = None
    # `token` mode: the ticket whose reply address proved the sender.
    ref: str | None = None

    @property
    def suspect(self) -> bool:
        return self.claimed is not None and not self.trusted


@dataclass(frozen=True)
class AuthResult:
    """One `method=result` of an Authentication-Results header, with its properties."""

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The value of property `name` (e.g. "header.d"), case-insensitive."""
        wanted = name.lower()
        return next((value for key, value in self.properties if key == wanted), None)

    def __str__(self) -> str:
        shown = [f"{key}={value}" for key, value in self.properties if key in _SHOWN]
        return " ".join([f"{self.method}={self.result}", *shown])


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    results: tuple[AuthResult, ...]


_SHOWN = ("header.d", "header.i", "smtp.auth")
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_AUTHSERV_ID = re.compile(rf'\s*({_QUOTED}|[^\s"]+)')
# `key = value`: a method (maybe with `/version`), `reason`, or a `ptype.property`.
# A value may start with a quoted local part: `smtp.auth="jan smith"@example.nl`.
_PAIR = re.compile(rf'([\w-]+(?:\s*[./]\s*[\w-]+)?)\s*=\s*({_QUOTED}[^\s"]*|[^\s"]+)')


def _outside_comments(value: str) -> str:
    """`value` with its (nested) comments replaced by a space; quoted strings kept as they are."""
    kept: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
            if not depth:
                kept.append(char)
        elif char == "\\" and (quoted or depth):
            escaped = True
            if not depth:
                kept.append(char)
        elif quoted:
            quoted = char != '"'
            kept.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if not depth:
                kept.append(" ")
        elif not depth:
            quoted = char == '"'
            kept.append(char)
    return "".join(kept)


def _split_outside_quotes(value: str, separator: str) -> list[str]:
    parts = [""]
    quoted = escaped = False
    for char in value:
        if char == separator and not quoted:
            parts.append("")
            continue
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        parts[-1] += char
    return parts


def _unquote(value: str) -> str:
    quoted = re.fullmatch(rf"({_QUOTED})(.*)", value)
    if quoted is None:
        return value
    return re.sub(r"\\(.)", r"\1", quoted.group(1)[1:-1]) + quoted.group(2)


def parse_authentication_results(value: str) -> AuthResults | None:
    """One Authentication-Results header value; None when it names no authserv-id.

    Tolerant: comments, folding, quoted values, `method/version`, and text it cannot read
    (skipped). Microsoft 365 writes no authserv-id at all; such a header gives None.
    """
    segments = _split_outside_quotes(_outside_comments(value), ";")
    found = _AUTHSERV_ID.match(segments[0])
    if not found or "=" in found.group(1):
        return None
    results = []
    for segment in segments[1:]:
        pairs = [
            (re.sub(r"\s+", "", key).lower(), _unquote(v)) for key, v in _PAIR.findall(segment)
        ]
        if not pairs:
            continue  # "none", or nothing readable
        (method, result), rest = pairs[0], pairs[1:]
        properties = tuple((key, item) for key, item in rest if "." in key)
        results.append(AuthResult(method.split("/")[0], result.lower(), properties))
    return AuthResults(_unquote(found.group(1)).lower(), tuple(results))


def _domain(value: str) -> str:
    domain = value.strip().lower().rstrip(".")
    try:
        return domain.encode("idna").decode("ascii") if not domain.isascii() else domain
    except UnicodeError:
        return domain


def aligned(signing_domain: str, from_domain: str, alignment: str) -> bool:
    """Whether a DKIM d= stands for the From domain (DMARC's alignment, RFC 7489 §3.1.1).

    Relaxed compares related domains without the Public Suffix List: a parent or subdomain of
    the From domain counts. That is safe because signing as d= needs that domain's DNS, which
    a public suffix's owner does not hand out; a bare top-level domain never counts.
    """
    signer, sender = _domain(signing_domain), _domain(from_domain)
    if not signer or not sender:
        return False
    if signer == sender:
        return True
    if alignment == "strict" or "." not in signer or "." not in sender:
        return False
    return sender.endswith("." + signer) or signer.endswith("." + sender)


def check_engineer(
    mail: ParsedMail,
    raw: bytes,
    *,
    engineers: Collection[str],
    settings: TrustSettings,
    recipients: Sequence[str] = (),
    secret: bytes | None = None,
    team: str | None = None,
    dns: DnsLookup | None = None,
) -> Verdict:
    """Whether `mail` comes from one of `engineers`, by the check `settings.mode` names.

    `raw` is the message as received (for `dkim`); `recipients` the envelope recipients and
    `secret` the desk's signing secret (for `token`); `team` the engineers' shared address,
    whose reply addresses every engineer on the list may use (the desk mails the team, not each
    engineer); `dns` replaces DNS look-ups (tests).
    """
    if settings.mode == "token" and secret is None:
        raise ValueError("trust mode 'token' needs the desk's signing secret")
    sender = mail.from_address.strip().lower()
    if not sender or sender not in {address.strip().lower() for address in engineers}:
        return Verdict(None, False, f"{sender or 'the sender'} is not on the engineers list")
    ref = None
    problem = _ambiguous_from(mail)
    if problem:
        passed, why = False, problem
    elif settings.mode == "authres":
        passed, why = _check_authres(mail, sender, settings)
    elif settings.mode == "dkim":
        passed, why = _check_dkim(raw, sender, settings, dns or _system_dns())
    else:
        assert secret is not None  # checked above
        ref, why = _check_token(mail, sender, recipients, secret, team)
        passed = ref is not None
    if passed:
        return Verdict(sender, True, f"{sender}: {why}", claimed=sender, ref=ref)
    reason = f"From {sender} is an engineer's address, but {why} (mode {settings.mode}): spoofed?"
    return Verdict(None, False, reason, claimed=sender)


def _system_dns() -> DnsLookup:
    from dkim.dnsplug import get_txt  # dkimpy and dnspython load only where DKIM is checked

    return get_txt  # type: ignore[no-any-return]


def _ambiguous_from(mail: ParsedMail) -> str | None:
    # RFC 5322 allows one From header with one address here; with more, a checker and a
    # reader may each look at a different one (the classic DKIM/DMARC confusion).
    values = mail.header_values("From")
    if len(values) > 1:
        return f"the mail has {len(values)} From headers"
    # Only entries with an @ count: the header is stored decoded, so an encoded display name
    # with a comma ("Vriës, Jan") reads as an extra entry without being an address.
    addresses = [address for _name, address in email.utils.getaddresses(values) if "@" in address]
    if len(addresses) > 1:
        return "its From header names more than one address"
    return None


def _check_authres(mail: ParsedMail, sender: str, settings: TrustSettings) -> tuple[bool, str]:
    from_domain = sender.rpartition("@")[2]
    for value in mail.header_values("Authentication-Results"):
        results = parse_authentication_results(value)
        if results is None or results.authserv_id not in settings.authserv_ids:
            continue
        source = f"Authentication-Results from {results.authserv_id}"
        for result in results.results:
            if result.result != "pass":
                continue
            if result.method == "dkim":
                identity = result.get("header.d") or result.get("header.i") or ""
                if aligned(identity.rpartition("@")[2], from_domain, settings.dkim_alignment):
                    return True, f"{source} says {result}"
            elif result.method == "auth" and (result.get("smtp.auth") or "").lower() == sender:
                return True, f"{source} says {result}"
        said = "; ".join(str(result) for result in results.results) or "nothing"
        return False, f"the topmost {source} says {said}"
    return False, f"there is no Authentication-Results from {', '.join(settings.authserv_ids)}"


class _DkimLog:
    """The logger dkimpy writes to; it tells why a key failed only through `error()`.

    The words are kept for the verdict and logged at debug level: a failed signature is news
    for the verdict, not an error of the daemon.
    """

    def __init__(self) -> None:
        self.last: str | None = None

    def isEnabledFor(self, level: int) -> bool:  # camelCase: the logging API dkimpy calls
        return logger.isEnabledFor(level)

    def debug(self, message: Any, *args: Any) -> None:
        logger.debug(message, *args)

    def error(self, message: Any, *args: Any) -> None:
        self.last = str(message) % args if args else str(message)
        logger.debug("dkimpy: %s", self.last)


class _WatchedLookup:
    """dkimpy's look-up, noting a timeout, which dkimpy itself turns into a plain failure."""

    def __init__(self, lookup: DnsLookup) -> None:
        self.lookup = lookup
        self.timed_out: Exception | None = None

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | str | None:
        import dkim

        try:
            return self.lookup(name, timeout=timeout)
        except dkim.DnsTimeoutError as error:
            self.timed_out = error
            raise


def _check_dkim(
    raw: bytes, sender: str, settings: TrustSettings, lookup: DnsLookup
) -> tuple[bool, str]:
    import dkim
    from dkim.util import InvalidTagValueList, parse_tag_value

    from_domain = sender.rpartition("@")[2]
    log = _DkimLog()
    watched = _WatchedLookup(lookup)
    try:
        verifier = dkim.DKIM(raw, logger=log)
    except dkim.DKIMException as error:
        return False, f"its header cannot be read for DKIM ({error})"
    signatures = [value for name, value in verifier.headers if name.lower() == b"dkim-signature"]
    if not signatures:
        return False, "it has no DKIM signature"
    seen = []
    for index, value in enumerate(signatures):
        try:
            fields = parse_tag_value(value)
        except InvalidTagValueList:
            seen.append("a malformed DKIM signature")
            continue
        domain = fields.get(b"d", b"").decode("ascii", "replace").strip().lower()
        signed = {name.strip().lower() for name in fields.get(b"h", b"").split(b":")}
        if not aligned(domain, from_domain, settings.dkim_alignment):
            seen.append(f"its DKIM signature by d={domain} is not aligned with {from_domain}")
        elif b"from" not in signed:
            seen.append(f"its DKIM signature by d={domain} does not sign From")
        elif b"l" in fields:
            seen.append(f"its DKIM signature by d={domain} covers only part of the body (l=)")
        else:
            log.last = None
            try:
                verified = verifier.verify(idx=index, dnsfunc=watched)
            except dkim.DKIMException as error:
                verified, log.last = False, str(error)
            if verified:
                return True, f"its DKIM signature by d={domain} verifies"
            if watched.timed_out is not None:
                raise TrustUnavailable(f"DNS look-up of the DKIM key of {domain} timed out")
            detail = f" ({log.last})" if log.last else ""
            seen.append(f"its DKIM signature by d={domain} does not verify{detail}")
    return False, "; ".join(seen)


def _check_token(
    mail: ParsedMail, sender: str, recipients: Sequence[str], secret: bytes, team: str | None
) -> tuple[str | None, str]:
    addresses = list(dict.fromkeys(a.strip().lower() for a in (*recipients, *mail.to, *mail.cc)))
    for address in addresses:
        ref = read_reply_address(secret, address, holder=sender)
        if ref is not None:
            return ref, f"it was sent to the reply address of {ref} made for this engineer"
        if team and (ref := read_reply_address(secret, address, holder=team)) is not None:
            return ref, f"it was sent to the reply address of {ref} made for the engineers"
    shared = [ref for address in addresses if (ref := read_reply_address(secret, address))]
    if shared:
        return None, f"it went to a reply address of {shared[0]}, not one made for this engineer"
    return None, "it was not sent to a reply address with a valid token"
