"""Signed Message-IDs, reply-address tokens and the secret file: what verifies, what never."""

from __future__ import annotations

import errno
import os
import re
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailintake.signing import (
    SecretFileError,
    SignedMessageId,
    load_or_create_secret,
    make_message_id,
    parse_message_id,
    read_message_id,
    read_reply_address,
    reply_address,
)

SECRET = bytes(range(32))
OTHER_SECRET = bytes(range(1, 33))
REF = "T-2026-000123"
JAN = "jan@example.nl"


# Message-IDs


def test_a_message_id_names_ref_and_purpose_and_reads_back() -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=REF, purpose="ack")

    assert re.fullmatch(r"<T-2026-000123\.ack\.[a-z2-7]{13}\.[a-z2-7]{13}@example\.nl>", message_id)
    assert read_message_id(SECRET, message_id) == REF
    assert parse_message_id(SECRET, message_id) == SignedMessageId(REF, "ack")


def test_message_ids_are_unique() -> None:
    ids = {make_message_id(SECRET, "example.nl", ref=REF, purpose="ack") for _ in range(200)}
    assert len(ids) == 200


def test_a_desk_wide_message_id_verifies_but_names_no_ticket() -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=None, purpose="maint")

    assert re.fullmatch(r"<maint\.[a-z2-7]{13}\.[a-z2-7]{13}@example\.nl>", message_id)
    assert read_message_id(SECRET, message_id) is None
    assert parse_message_id(SECRET, message_id) == SignedMessageId(None, "maint")


def test_a_message_id_survives_mtas_that_change_its_case() -> None:
    message_id = make_message_id(SECRET, "Example.NL", ref=REF, purpose="clarify")

    assert read_message_id(SECRET, message_id.lower()) == REF
    assert read_message_id(SECRET, message_id.upper()) == REF


def test_the_domain_is_not_signed_so_a_desk_can_move() -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=REF, purpose="ack")
    assert read_message_id(SECRET, message_id.replace("@example.nl", "@new.example")) == REF


def test_the_brackets_are_optional_when_reading() -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=REF, purpose="ack")
    assert read_message_id(SECRET, f"  {message_id.strip('<>')} ") == REF


def test_another_ticket_cannot_be_put_in_a_genuine_message_id() -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=REF, purpose="ack")

    assert read_message_id(SECRET, message_id.replace(REF, "T-2026-000999")) is None


@pytest.mark.parametrize("part", [1, 2, 3], ids=["purpose", "nonce", "tag"])
def test_changing_any_part_of_a_message_id_breaks_it(part: int) -> None:
    message_id = make_message_id(SECRET, "example.nl", ref=REF, purpose="ack")
    left, _, domain = message_id.strip("<>").partition("@")
    parts = left.split(".")
    parts[part] = parts[part][:-1] + ("b" if parts[part][-1] != "b" else "c")

    assert read_message_id(SECRET, f"<{'.'.join(parts)}@{domain}>") is None


def test_a_message_id_signed_with_another_secret_does_not_verify() -> None:
    message_id = make_message_id(OTHER_SECRET, "example.nl", ref=REF, purpose="ack")
    assert read_message_id(SECRET, message_id) is None


def test_a_forged_or_unsigned_message_id_names_no_ticket() -> None:
    # The layout compose.py wrote before signing, and a guess at ours.
    assert read_message_id(SECRET, "<T-2026-000123.ack.5f0c9a1be2d4c6f7@example.nl>") is None
    forged = "<T-2026-000123.ack.aaaaaaaaaaaaa.aaaaaaaaaaaaa@example.nl>"
    assert read_message_id(SECRET, forged) is None


@pytest.mark.parametrize(
    "value",
    ["", "<>", "<@>", "no-at-sign", "<a@b>", "<a.b.c.d.e@x>", "<T-1.ack.é.é@x>", "<.....@x>"],
)
def test_odd_message_ids_are_simply_not_ours(value: str) -> None:
    assert read_message_id(SECRET, value) is None


@given(st.text(max_size=120))
def test_reading_any_text_as_a_message_id_never_raises(value: str) -> None:
    assert read_message_id(SECRET, value) is None


@pytest.mark.parametrize(
    ("ref", "purpose"), [("T-2026.1", "ack"), ("T 1", "ack"), ("", "ack"), (REF, "a.b"), (REF, "")]
)
def test_refs_and_purposes_must_be_single_atoms(ref: str, purpose: str) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        make_message_id(SECRET, "example.nl", ref=ref, purpose=purpose)


def test_an_international_domain_is_written_in_ascii() -> None:
    message_id = make_message_id(SECRET, "bücher.example", ref=REF, purpose="ack")
    assert message_id.endswith("@xn--bcher-kva.example>")
    assert read_message_id(SECRET, message_id) == REF


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        make_message_id(b"short", "example.nl", ref=REF, purpose="ack")


# Reply addresses


def test_a_reply_address_carries_ref_and_token_and_reads_back() -> None:
    address = reply_address(SECRET, "support@example.nl", REF)

    assert re.fullmatch(r"support\+T-2026-000123\.[a-z2-7]{13}@example\.nl", address)
    assert read_reply_address(SECRET, address) == REF


def test_a_reply_address_survives_lower_casing() -> None:
    # The parser lower-cases every address; so do some MTAs.
    address = reply_address(SECRET, "Support@Example.NL", REF)
    assert read_reply_address(SECRET, address.lower()) == REF
    assert read_reply_address(SECRET, f"<{address.upper()}>") == REF


def test_a_token_is_per_ticket_and_stable() -> None:
    first = reply_address(SECRET, "support@example.nl", REF)
    assert reply_address(SECRET, "support@example.nl", REF) == first
    assert reply_address(SECRET, "support@example.nl", "T-2026-000124") != first


def test_a_token_does_not_verify_for_another_ticket() -> None:
    address = reply_address(SECRET, "support@example.nl", REF)
    assert read_reply_address(SECRET, address.replace(REF, "T-2026-000124")) is None


@pytest.mark.parametrize(
    "address",
    [
        "support@example.nl",
        "support+T-2026-000123@example.nl",
        "support+T-2026-000123.@example.nl",
        "support+T-2026-000123.aaaaaaaaaaaaa@example.nl",
        "support+T-2026-000123.a1@example.nl",
        "support+.aaaaaaaaaaaaa@example.nl",
        "T-2026-000123@example.nl",
        "",
        "+@",
    ],
)
def test_a_missing_or_bad_token_gives_no_ticket(address: str) -> None:
    assert read_reply_address(SECRET, address) is None


def test_a_token_made_with_another_secret_does_not_verify() -> None:
    address = reply_address(OTHER_SECRET, "support@example.nl", REF)
    assert read_reply_address(SECRET, address) is None


def test_a_support_address_with_a_plus_of_its_own_still_works() -> None:
    address = reply_address(SECRET, "support+nl@example.nl", REF)
    assert address.startswith("support+nl+T-2026-000123.")
    assert read_reply_address(SECRET, address) == REF


def test_a_holder_address_threads_for_anyone_but_proves_only_its_holder() -> None:
    address = reply_address(SECRET, "support@example.nl", REF, holder=JAN)

    assert re.fullmatch(r"support\+T-2026-000123\.[a-z2-7]{13}\.[a-z2-7]{13}@example\.nl", address)
    assert len(address.partition("@")[0]) <= 64  # RFC 5321's limit on a local part
    assert read_reply_address(SECRET, address) == REF
    assert read_reply_address(SECRET, address, holder="Jan@Example.NL") == REF
    assert read_reply_address(SECRET, address, holder="piet@example.nl") is None


def test_the_shared_address_proves_no_holder() -> None:
    address = reply_address(SECRET, "support@example.nl", REF)
    assert read_reply_address(SECRET, address, holder=JAN) is None


def test_a_holder_tag_cannot_be_moved_to_another_ticket() -> None:
    # The customer of T-…124 knows that ticket's shared tag; Jan's holder tag of T-…123 leaks.
    shared = reply_address(SECRET, "support@example.nl", "T-2026-000124")
    jans = reply_address(SECRET, "support@example.nl", REF, holder=JAN)
    spliced = shared.replace("@", "." + jans.partition("@")[0].rpartition(".")[2] + "@")

    assert read_reply_address(SECRET, spliced) == "T-2026-000124"
    assert read_reply_address(SECRET, spliced, holder=JAN) is None


def test_a_reply_address_needs_an_address_to_extend() -> None:
    with pytest.raises(ValueError, match="not an address"):
        reply_address(SECRET, "support", REF)


# The secret file


def test_a_missing_secret_is_made_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "state" / "keys" / "desk.secret"

    secret = load_or_create_secret(path)

    assert len(secret) == 32
    assert re.fullmatch(r"[0-9a-f]{64}\n", path.read_text())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_secret(path) == secret
    assert sorted(p.name for p in path.parent.iterdir()) == ["desk.secret"]


def test_daemons_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "desk.secret"
    found: list[bytes] = []
    start = threading.Barrier(8)

    def load() -> None:
        start.wait()
        found.append(load_or_create_secret(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(found) == 8
    assert set(found) == {bytes.fromhex(path.read_text())}


def test_a_secret_written_by_hand_is_used(tmp_path: Path) -> None:
    path = tmp_path / "desk.secret"
    path.write_text("  " + "ab" * 32 + "  \n")
    path.chmod(0o400)

    assert load_or_create_secret(path) == bytes.fromhex("ab" * 32)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620, 0o660])
def test_a_secret_others_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "desk.secret"
    path.write_text("ab" * 32)
    path.chmod(mode)

    with pytest.raises(SecretFileError, match=rf"{re.escape(str(path))}.*chmod 600"):
        load_or_create_secret(path)


@pytest.mark.parametrize("content", ["", "ab" * 8, "not hex at all, but long enough to count"])
def test_a_short_or_garbled_secret_file_is_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "desk.secret"
    path.write_text(content)
    path.chmod(0o600)

    with pytest.raises(SecretFileError, match="at least 16 bytes in hex"):
        load_or_create_secret(path)


def test_a_folder_is_not_a_secret_file(tmp_path: Path) -> None:
    folder = tmp_path / "desk.secret"
    folder.mkdir(mode=0o700)

    with pytest.raises(SecretFileError, match="is not a file"):
        load_or_create_secret(folder)


def test_a_secret_that_cannot_be_read_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "state"
    blocker.write_text("a file where the folder should be")

    with pytest.raises(SecretFileError, match=r"cannot read .*state/desk.secret: Not a directory"):
        load_or_create_secret(blocker / "desk.secret")


def test_a_secret_that_cannot_be_created_says_why_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A file system without hard links (the file is published with one) cannot hold it.
    def no_links(source: object, target: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)

    with pytest.raises(SecretFileError, match=r"cannot create the secret file .*not permitted"):
        load_or_create_secret(tmp_path / "desk.secret")
    assert list(tmp_path.iterdir()) == []
