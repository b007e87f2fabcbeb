"""Engineer trust: each mode lets the real engineer through and flags the spoofs it should.

DKIM keys are made here (plain RSA in Python: the venv has no crypto library, and a tool on
the PATH is one more thing a machine may lack) once per module, and DNS is a dict.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dkim
import pytest
from pydantic import ValidationError

from mailintake.intake.parse import parse
from mailintake.intake.trust import (
    AuthResult,
    TrustSettings,
    TrustUnavailable,
    Verdict,
    aligned,
    check_engineer,
    parse_authentication_results,
)
from mailintake.mail import ParsedMail
from mailintake.signing import reply_address

JAN = "jan@example.nl"
ENGINEERS = ("Jan@Example.NL", "piet@example.nl")
SECRET = bytes(range(32))
REF = "T-2026-000123"
AUTHRES = TrustSettings(mode="authres", authserv_ids=["mx.desk.example"])
DKIM_MODE = TrustSettings(mode="dkim")
TOKEN = TrustSettings(mode="token")


def message(
    *headers: str, sender: str = f"Jan de Vries <{JAN}>", to: str = "support@desk.example"
) -> bytes:
    lines = [
        *headers,
        f"From: {sender}",
        f"To: {to}",
        "Subject: Re: [T-2026-000123] Geen kiestoon",
        "Date: Mon, 23 Nov 2026 16:00:00 +0100",
        "Message-ID: <reply-1@example.nl>",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "",
        "#status resolved",
        "Toestel vervangen, werkt weer.",
        "",
    ]
    return "\r\n".join(lines).encode()


def check(raw: bytes, settings: TrustSettings, **options: Any) -> Verdict:
    mail: ParsedMail = parse(raw).mail
    return check_engineer(mail, raw, engineers=ENGINEERS, settings=settings, **options)


def assert_trusted(verdict: Verdict) -> None:
    assert (verdict.engineer, verdict.trusted, verdict.suspect) == (JAN, True, False), verdict


def assert_spoof(verdict: Verdict, why: str) -> None:
    assert (verdict.engineer, verdict.trusted, verdict.claimed) == (None, False, JAN), verdict
    assert verdict.suspect
    assert "spoofed?" in verdict.reason
    assert re.search(why, verdict.reason), verdict.reason


# Every mode


@pytest.mark.parametrize("settings", [AUTHRES, DKIM_MODE, TOKEN], ids=lambda s: s.mode)
def test_a_sender_off_the_list_is_no_engineer_and_no_suspect(settings: TrustSettings) -> None:
    verdict = check(message(sender="klant@klant.example"), settings, secret=SECRET)

    assert verdict == Verdict(None, False, "klant@klant.example is not on the engineers list")
    assert not verdict.suspect


def test_two_from_headers_are_never_trusted() -> None:
    raw = message(
        f"From: {JAN}",
        f"Authentication-Results: mx.desk.example; auth=pass smtp.auth={JAN}",
        sender="piet@example.nl",
    )
    assert_spoof(check(raw, AUTHRES), "2 From headers")


def test_a_from_header_with_two_addresses_is_never_trusted() -> None:
    auth = f"Authentication-Results: mx.desk.example; auth=pass smtp.auth={JAN}"
    raw = message(auth, sender=f"{JAN}, piet@example.nl")
    assert_spoof(check(raw, AUTHRES), "more than one address")


def test_an_encoded_name_with_a_comma_is_still_one_address() -> None:
    auth = f"Authentication-Results: mx.desk.example; auth=pass smtp.auth={JAN}"
    raw = message(auth, sender=f"=?utf-8?q?Vri=C3=ABs=2C_Jan?= <{JAN}>")
    assert_trusted(check(raw, AUTHRES))


# authres


GMAIL_STYLE = (
    "Authentication-Results: mx.desk.example;\r\n"
    "       dkim=pass (2048-bit key; unprotected) header.d=example.nl header.i=@example.nl\r\n"
    '       header.s=sel header.b="AbCdEf12";\r\n'
    "       spf=pass (desk.example: domain of jan@example.nl designates 192.0.2.1 as\r\n"
    "       permitted sender) smtp.mailfrom=jan@example.nl;\r\n"
    "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.nl"
)


def test_authres_trusts_our_mx_saying_dkim_pass_for_the_from_domain() -> None:
    verdict = check(message(GMAIL_STYLE), AUTHRES)

    assert_trusted(verdict)
    assert "mx.desk.example says dkim=pass header.d=example.nl" in verdict.reason


def test_authres_trusts_a_sender_who_authenticated_as_that_address() -> None:
    raw = message(
        "Authentication-Results: mx.desk.example; auth=pass (PLAIN) smtp.auth=JAN@example.nl"
    )
    assert_trusted(check(raw, AUTHRES))


def test_authres_takes_the_domain_from_header_i_when_header_d_is_missing() -> None:
    raw = message("Authentication-Results: mx.desk.example; dkim=pass header.i=@example.nl")
    assert_trusted(check(raw, AUTHRES))


def test_authres_alignment_relaxed_or_strict() -> None:
    raw = message("Authentication-Results: mx.desk.example; dkim=pass header.d=mail.example.nl")
    strict = TrustSettings(
        mode="authres", authserv_ids=["mx.desk.example"], dkim_alignment="strict"
    )

    assert_trusted(check(raw, AUTHRES))
    assert_spoof(check(raw, strict), "dkim=pass header.d=mail.example.nl")


def test_authres_spoof_with_a_header_from_an_untrusted_authserv_id() -> None:
    raw = message("Authentication-Results: mx.evil.example; dkim=pass header.d=example.nl")
    assert_spoof(check(raw, AUTHRES), "no Authentication-Results from mx.desk.example")


def test_authres_spoof_our_mx_says_dkim_fail() -> None:
    raw = message("Authentication-Results: mx.desk.example; dkim=fail header.d=example.nl")
    assert_spoof(check(raw, AUTHRES), "says dkim=fail header.d=example.nl")


def test_authres_spoof_signed_by_another_domain() -> None:
    raw = message("Authentication-Results: mx.desk.example; dkim=pass header.d=evil.example")
    assert_spoof(check(raw, AUTHRES), "says dkim=pass header.d=evil.example")


def test_authres_spoof_authenticated_as_someone_else() -> None:
    raw = message("Authentication-Results: mx.desk.example; auth=pass smtp.auth=piet@example.nl")
    assert_spoof(check(raw, AUTHRES), "auth=pass smtp.auth=piet@example.nl")


def test_authres_spoof_a_forged_copy_of_ours_below_our_mx_header_is_not_read() -> None:
    # The sender wrote the lower one; our MX prepended the upper one and did not delete it.
    raw = message(
        "Authentication-Results: mx.desk.example; dkim=none",
        "Received: from evil.example by mx.desk.example",
        "Authentication-Results: mx.desk.example; dkim=pass header.d=example.nl",
    )
    assert_spoof(check(raw, AUTHRES), "topmost Authentication-Results from mx.desk.example says")


def test_authres_headers_of_others_above_ours_are_skipped() -> None:
    raw = message(
        "Authentication-Results: filter.elsewhere.example; dkim=fail",
        "Authentication-Results: MX.Desk.Example; dkim=pass header.d=example.nl",
    )
    assert_trusted(check(raw, AUTHRES))


def test_authres_without_any_header_is_a_spoof() -> None:
    assert_spoof(check(message(), AUTHRES), "there is no Authentication-Results")


def test_parse_authentication_results_reads_rfc_8601_layouts() -> None:
    value = (
        "example.com 1; spf=pass smtp.mailfrom=example.net (comment; with = signs (nested)) ;"
        " dkim/1 = pass (good) header . i = @mail-router.example.net;"
        ' dkim=fail reason="bad; signature" header.i=@newyork.example.com;'
        ' auth=pass smtp.auth="jan smith"@example.com'
    )

    results = parse_authentication_results(value)

    assert results is not None
    assert results.authserv_id == "example.com"
    assert results.results == (
        AuthResult("spf", "pass", (("smtp.mailfrom", "example.net"),)),
        AuthResult("dkim", "pass", (("header.i", "@mail-router.example.net"),)),
        AuthResult("dkim", "fail", (("header.i", "@newyork.example.com"),)),
        AuthResult("auth", "pass", (("smtp.auth", "jan smith@example.com"),)),
    )


@pytest.mark.parametrize(
    ("value", "authserv_id", "count"),
    [
        ("mx.desk.example; none", "mx.desk.example", 0),
        ('"mx.desk.example"; dkim=pass', "mx.desk.example", 1),
        ("(a comment first) mx.desk.example;dkim=pass;;spf=fail", "mx.desk.example", 2),
        ("mx.desk.example; dkim=pass (unclosed comment header.d=evil", "mx.desk.example", 1),
        ("mx.desk.example; ??? ; dkim=pass", "mx.desk.example", 1),
    ],
)
def test_parse_authentication_results_is_tolerant(value: str, authserv_id: str, count: int) -> None:
    results = parse_authentication_results(value)

    assert results is not None
    assert (results.authserv_id, len(results.results)) == (authserv_id, count)


@pytest.mark.parametrize(
    "value",
    [
        # Microsoft 365 writes no authserv-id: nobody can say whose header it is.
        "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.nl; dkim=pass header.d=example.nl",
        "",
        "   ",
    ],
)
def test_a_header_without_authserv_id_is_nobodys(value: str) -> None:
    assert parse_authentication_results(value) is None


# dkim


@dataclass(frozen=True)
class Key:
    pem: bytes
    record: bytes  # the TXT record at <selector>._domainkey.<domain>


def _der(tag: int, body: bytes) -> bytes:
    size = len(body)
    if size < 0x80:
        return bytes([tag, size]) + body
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(length)]) + length + body


def _integer(value: int) -> bytes:
    # One byte more than the bits need keeps the top bit clear: DER integers are signed.
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _probable_prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (3 << (bits - 2)) | 1
        if any(candidate % p == 0 for p in (3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37)):
            continue
        odd, twos = candidate - 1, 0
        while odd % 2 == 0:
            odd, twos = odd // 2, twos + 1
        for _ in range(40):  # Miller-Rabin
            x = pow(secrets.randbelow(candidate - 3) + 2, odd, candidate)
            if x in (1, candidate - 1):
                continue
            for _ in range(twos - 1):
                x = pow(x, 2, candidate)
                if x == candidate - 1:
                    break
            else:
                break
        else:
            return candidate


def make_key(bits: int = 1024) -> Key:
    e = 65537
    while True:
        p, q = _probable_prime(bits // 2), _probable_prime(bits // 2)
        phi = (p - 1) * (q - 1)
        if p != q and math.gcd(e, phi) == 1:
            break
    n, d = p * q, pow(e, -1, phi)
    private = _der(
        0x30, b"".join(map(_integer, (0, n, e, d, p, q, d % (p - 1), d % (q - 1), pow(q, -1, p))))
    )
    rsa_oid = bytes.fromhex("2a864886f70d010101")
    public = _der(
        0x30,
        _der(0x30, _der(0x06, rsa_oid) + _der(0x05, b""))
        + _der(0x03, b"\0" + _der(0x30, _integer(n) + _integer(e))),
    )
    pem = b"-----BEGIN RSA PRIVATE KEY-----\n" + base64.encodebytes(private)
    return Key(
        pem + b"-----END RSA PRIVATE KEY-----\n", b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    )


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {"example.nl": make_key(), "evil.example": make_key()}


@pytest.fixture(scope="module")
def dns(keys: dict[str, Key]) -> Callable[..., bytes | None]:
    records = {f"sel._domainkey.{domain}.".encode(): key.record for domain, key in keys.items()}

    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        return records.get(name)

    return lookup


def signed(raw: bytes, key: Key, domain: str, **options: Any) -> bytes:
    header: bytes = dkim.sign(raw, b"sel", domain.encode(), key.pem, **options)
    return header + raw


def test_dkim_trusts_a_signature_by_the_from_domain(keys: dict[str, Key], dns: object) -> None:
    verdict = check(signed(message(), keys["example.nl"], "example.nl"), DKIM_MODE, dns=dns)

    assert_trusted(verdict)
    assert verdict.reason == f"{JAN}: its DKIM signature by d=example.nl verifies"


def test_dkim_finds_the_aligned_one_among_several_signatures(
    keys: dict[str, Key], dns: object
) -> None:
    raw = signed(message(), keys["example.nl"], "example.nl")
    raw = signed(raw, keys["evil.example"], "evil.example")  # e.g. a forwarder's, on top

    assert_trusted(check(raw, DKIM_MODE, dns=dns))


def test_dkim_spoof_body_changed_after_signing(keys: dict[str, Key], dns: object) -> None:
    raw = signed(message(), keys["example.nl"], "example.nl")
    raw = raw.replace(b"#status resolved", b"#status closed")

    assert_spoof(check(raw, DKIM_MODE, dns=dns), "d=example.nl does not verify .*body hash")


def test_dkim_spoof_header_changed_after_signing(keys: dict[str, Key], dns: object) -> None:
    raw = signed(message(sender="piet@example.nl"), keys["example.nl"], "example.nl")
    raw = raw.replace(b"From: piet@example.nl", f"From: {JAN}".encode())

    assert_spoof(check(raw, DKIM_MODE, dns=dns), "d=example.nl does not verify")


def test_dkim_spoof_signed_by_another_domain(keys: dict[str, Key], dns: object) -> None:
    raw = signed(message(), keys["evil.example"], "evil.example")
    assert_spoof(check(raw, DKIM_MODE, dns=dns), "d=evil.example is not aligned with example.nl")


def test_dkim_spoof_unsigned(dns: object) -> None:
    assert_spoof(check(message(), DKIM_MODE, dns=dns), "no DKIM signature")


def test_dkim_spoof_key_not_in_dns(keys: dict[str, Key]) -> None:
    raw = signed(message(), keys["example.nl"], "example.nl")
    verdict = check(raw, DKIM_MODE, dns=lambda name, timeout=5: None)
    assert_spoof(verdict, "does not verify .*missing public key")


def test_dkim_spoof_signed_by_the_wrong_key(keys: dict[str, Key], dns: object) -> None:
    # Someone else's key, published nowhere under example.nl, claiming to be example.nl's.
    raw = signed(message(), keys["evil.example"], "example.nl")
    assert_spoof(check(raw, DKIM_MODE, dns=dns), "d=example.nl does not verify")


def test_dkim_a_signature_over_part_of_the_body_does_not_count(
    keys: dict[str, Key], dns: object
) -> None:
    # With l= anyone may append text; a command hidden there must not run.
    raw = signed(message(), keys["example.nl"], "example.nl", length=True)
    assert_spoof(check(raw, DKIM_MODE, dns=dns), r"only part of the body \(l=\)")


def test_dkim_a_signature_that_does_not_sign_from_does_not_count(
    keys: dict[str, Key], dns: object
) -> None:
    raw = signed(message(), keys["example.nl"], "example.nl")
    raw = re.sub(rb"h=[^;]*;", b"h=subject : date;", raw, count=1)
    assert_spoof(check(raw, DKIM_MODE, dns=dns), "does not sign From")


def test_dkim_strict_alignment_wants_the_very_from_domain(
    keys: dict[str, Key], dns: object
) -> None:
    raw = signed(message(sender="jan@nl.example.nl"), keys["example.nl"], "example.nl")
    engineers = ["jan@nl.example.nl"]
    mail = parse(raw).mail
    strict = TrustSettings(mode="dkim", dkim_alignment="strict")

    assert check_engineer(mail, raw, engineers=engineers, settings=DKIM_MODE, dns=dns).trusted
    assert not check_engineer(mail, raw, engineers=engineers, settings=strict, dns=dns).trusted


def test_dkim_a_dns_timeout_is_a_reason_to_try_later(keys: dict[str, Key]) -> None:
    def timing_out(name: bytes, timeout: float = 5) -> bytes | None:
        raise dkim.DnsTimeoutError("timed out")

    raw = signed(message(), keys["example.nl"], "example.nl")

    with pytest.raises(TrustUnavailable, match=r"example\.nl timed out"):
        check(raw, DKIM_MODE, dns=timing_out)


# token


def test_token_trusts_a_mail_to_the_engineers_own_reply_address() -> None:
    address = reply_address(SECRET, "support@desk.example", REF, holder=JAN)

    verdict = check(message(to=address), TOKEN, secret=SECRET)

    assert_trusted(verdict)
    assert verdict.ref == REF


def test_token_reads_the_envelope_recipients_too() -> None:
    address = reply_address(SECRET, "support@desk.example", REF, holder=JAN)

    verdict = check(message(), TOKEN, secret=SECRET, recipients=[address.upper()])

    assert_trusted(verdict)
    assert verdict.ref == REF


def test_token_spoof_a_token_for_another_ticket() -> None:
    address = reply_address(SECRET, "support@desk.example", REF, holder=JAN)
    other = address.replace(REF, "T-2026-000124")

    assert_spoof(check(message(to=other), TOKEN, secret=SECRET), "not sent to a reply address")


def test_token_spoof_the_customers_shared_reply_address() -> None:
    address = reply_address(SECRET, "support@desk.example", REF)
    verdict = check(message(to=address), TOKEN, secret=SECRET)
    assert_spoof(verdict, f"a reply address of {REF}, not one made for this engineer")


def test_token_spoof_another_engineers_reply_address() -> None:
    address = reply_address(SECRET, "support@desk.example", REF, holder="piet@example.nl")
    assert_spoof(check(message(to=address), TOKEN, secret=SECRET), "not one made for this engineer")


def test_token_spoof_no_token_at_all() -> None:
    assert_spoof(check(message(), TOKEN, secret=SECRET), "not sent to a reply address")


def test_token_mode_needs_the_secret() -> None:
    with pytest.raises(ValueError, match="signing secret"):
        check(message(), TOKEN)


# settings and alignment


def test_authres_mode_needs_authserv_ids() -> None:
    with pytest.raises(ValidationError, match="needs authserv_ids"):
        TrustSettings(mode="authres")


def test_authserv_ids_are_compared_in_lower_case_and_checked() -> None:
    assert TrustSettings(authserv_ids=[" MX.Desk.Example "]).authserv_ids == ["mx.desk.example"]
    with pytest.raises(ValidationError, match="not an authserv-id"):
        TrustSettings(authserv_ids=["mx.desk.example; dkim=pass"])
    with pytest.raises(ValidationError, match="Extra inputs"):
        TrustSettings.model_validate({"mode": "dkim", "require_aligned": True})


@pytest.mark.parametrize(
    ("signer", "sender", "strict", "relaxed"),
    [
        ("example.nl", "example.nl", True, True),
        ("Example.NL.", "example.nl", True, True),
        ("example.nl", "nl.example.nl", False, True),
        ("mail.example.nl", "example.nl", False, True),
        ("a.example.nl", "b.example.nl", False, False),
        ("evil.example", "example.nl", False, False),
        ("badexample.nl", "example.nl", False, False),
        ("nl", "example.nl", False, False),
        ("", "example.nl", False, False),
        ("xn--bcher-kva.example", "bücher.example", True, True),
    ],
)
def test_alignment(signer: str, sender: str, strict: bool, relaxed: bool) -> None:
    assert aligned(signer, sender, "strict") is strict
    assert aligned(signer, sender, "relaxed") is relaxed


def test_token_mode_accepts_the_engineers_team_address_for_anyone_on_the_list() -> None:
    secret = b"s" * 32
    team = "engineers@example.nl"
    to_team = reply_address(secret, "support@example.nl", "T-2026-000123", holder=team)
    raw = (
        f"From: Eva <eva@example.nl>\r\nTo: {to_team}\r\nSubject: Re: x\r\n\r\n#plan\r\n"
    ).encode()
    mail = parse(raw).mail
    settings = TrustSettings(mode="token")
    engineers = ["eva@example.nl"]
    with_team = check_engineer(mail, raw, engineers=engineers, settings=settings, secret=secret,
                               team=team)  # fmt: skip
    assert with_team.trusted and with_team.ref == "T-2026-000123"
    without = check_engineer(mail, raw, engineers=engineers, settings=settings, secret=secret)
    assert not without.trusted and without.suspect
