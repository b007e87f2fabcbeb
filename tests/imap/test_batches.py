"""The small pieces of the poller that need no server: UID sets, batches, IDLE responses."""

from __future__ import annotations

from mailintake.intake.imap import QUIET_RESPONSES, _news, batches, uid_set


def test_uid_sets_are_ranges() -> None:
    assert uid_set([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"
    assert uid_set([5]) == "5"
    assert uid_set([4, 2, 3]) == "2:4"
    assert len(uid_set(list(range(1, 50_001)))) == len("1:50000")


def test_batches_keep_uid_order_and_large_messages_go_alone() -> None:
    uids = list(range(1, 8))
    assert list(batches(uids, set(), 3)) == [[1, 2, 3], [4, 5, 6], [7]]
    assert list(batches(uids, {3, 4}, 3)) == [[1, 2], [3], [4], [5, 6, 7]]


def test_only_news_ends_an_idle_wait() -> None:
    assert {b"OK", b"FETCH", b"EXPUNGE"} <= QUIET_RESPONSES
    assert not _news((b"OK", b"Still here"))
    assert not _news((3, b"FETCH", (b"FLAGS", (b"\\Seen",))))
    assert not _news((2, b"EXPUNGE"))
    assert _news((4, b"EXISTS"))
    assert _news((b"BYE", b"Server shutting down."))
