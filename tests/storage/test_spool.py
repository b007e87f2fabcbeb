"""The spool keeps every message byte for byte, in order, and never deletes one."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session, sessionmaker

from mailintake.storage.spool import Arrival, Spool

RAW = b"From: a@example.nl\r\nMessage-ID: <one@example.nl>\r\nSubject: x\r\n\r\nbody \xff\r\n"


def test_store_keeps_bytes_and_notes_message_id_and_hash(sessions: sessionmaker[Session]) -> None:
    spool = Spool(sessions)
    spool_id = spool.store(Arrival(RAW, "pipe:test", "a@example.nl", ("support@example.nl",)))
    assert spool.raw(spool_id) == RAW
    [entry] = spool.entries()
    assert entry.state == "received"
    assert entry.message_id == "<one@example.nl>"
    assert entry.size == len(RAW)
    assert entry.received_at.tzinfo is not None


def test_store_many_commits_all_in_order(sessions: sessionmaker[Session]) -> None:
    spool = Spool(sessions)
    raws = [RAW.replace(b"one", f"m{i}".encode()) for i in range(5)]
    ids = spool.store_many([Arrival(raw, "smtp:test") for raw in raws])
    assert ids == sorted(ids)
    assert [spool.raw(i) for i in ids] == raws
    assert spool.next_received()[:2] == (ids[0], raws[0])  # type: ignore[index]


def test_failed_messages_are_kept_listed_and_can_be_retried(
    sessions: sessionmaker[Session],
) -> None:
    spool = Spool(sessions)
    first, second = spool.store_many([Arrival(RAW, "t"), Arrival(RAW + b"x", "t")])
    spool.mark_failed(first, "ValueError: broken")
    assert spool.next_received()[:2] == (second, RAW + b"x")  # type: ignore[index]
    [failed] = spool.entries(state="failed")
    assert (failed.id, failed.error, failed.attempts) == (first, "ValueError: broken", 1)
    assert spool.retry([first]) == 1
    assert spool.entries(state="failed") == []
    assert spool.next_received()[:2] == (first, RAW)  # type: ignore[index]
    assert spool.counts() == {"received": 2}


def test_sha256_is_of_the_raw_bytes(sessions: sessionmaker[Session]) -> None:
    from sqlalchemy import select

    from mailintake.storage.models import SpoolMessage

    spool_id = Spool(sessions).store(Arrival(RAW, "t"))
    with sessions() as session:
        digest = session.scalar(select(SpoolMessage.sha256).where(SpoolMessage.id == spool_id))
    assert digest == hashlib.sha256(RAW).hexdigest()
