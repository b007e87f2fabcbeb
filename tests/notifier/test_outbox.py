"""The outbox: rows written in the caller's transaction, listed, requeued and counted."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailintake.notifier.compose import Mailbox
from mailintake.notifier.outbox import (
    enqueue,
    list_outbox,
    outbox_view,
    recent_auto_replies,
    requeue,
)
from mailintake.notifier.templates import Templates
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage, OutboxState
from tests.notifier.conftest import ENGINEERS, T0, composed, sample


def count(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions) as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage)) or 0


def test_enqueue_writes_in_the_callers_transaction_and_never_commits(
    sessions: sessionmaker[Session], templates: Templates
) -> None:
    message = composed(templates, sample("acknowledgement"))
    with sessions() as session, session.begin():
        row = enqueue(session, ticket_id=None, event_id=None, purpose="acknowledgement",
                      message=message, now=T0)  # fmt: skip
        assert row.id is not None
        session.rollback()
    assert count(sessions) == 0
    with transaction(sessions) as session:
        enqueue(session, ticket_id=None, event_id=None, purpose="acknowledgement",
                message=message, now=T0)  # fmt: skip
    with transaction(sessions) as session:
        [stored] = list_outbox(session)
        assert stored.message_id == message.message_id
        assert stored.raw == message.raw
        assert stored.recipients == ["jan@bakkerij-jansen.nl"]
        assert (stored.state, stored.attempts) == (OutboxState.PENDING, 0)
        assert stored.next_attempt_at == T0 == stored.created_at


def test_a_message_id_is_queued_once(sessions: sessionmaker[Session], templates: Templates) -> None:
    message = composed(templates, sample("acknowledgement"))
    with pytest.raises(IntegrityError), transaction(sessions) as session:
        for _ in range(2):
            enqueue(session, ticket_id=None, event_id=None, purpose="acknowledgement",
                    message=message, now=T0)  # fmt: skip
    assert count(sessions) == 0


def test_enqueue_refuses_a_purpose_that_differs_from_the_message(
    sqlite_sessions: sessionmaker[Session], templates: Templates
) -> None:
    with pytest.raises(ValueError, match="purpose"), transaction(sqlite_sessions) as session:
        enqueue(session, ticket_id=None, event_id=None, purpose="dispatch",
                message=composed(templates, sample("acknowledgement")))  # fmt: skip


def test_list_by_state_view_and_requeue(
    sessions: sessionmaker[Session], templates: Templates
) -> None:
    later = T0 + timedelta(days=5)
    with transaction(sessions) as session:
        first = enqueue(
            session,
            ticket_id=None,
            event_id=None,
            purpose="acknowledgement",
            message=composed(templates, sample("acknowledgement")),
            now=T0,
        )
        second = enqueue(session, ticket_id=None, event_id=None, purpose="maintenance_notice",
                         message=composed(templates, sample("maintenance_notice")), now=T0,
                         not_before=later)  # fmt: skip
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id == first.id)
            .values(state=OutboxState.FAILED, attempts=7, last_error="550 5.1.1 no such user")
        )  # fmt: skip
    with transaction(sessions) as session:
        assert [r.id for r in list_outbox(session, "failed")] == [first.id]
        assert [r.id for r in list_outbox(session, "pending")] == [second.id]
        with pytest.raises(ValueError, match="pending, sent, failed"):
            list_outbox(session, "queued")
        view = outbox_view(list_outbox(session, "pending")[0], UTC)
        assert view["next_attempt_at"] == later.isoformat()
        assert view["purpose"] == "maintenance_notice" and "raw" not in view
        assert requeue(session, first.id, later)
        assert not requeue(session, second.id, later)  # not failed: nothing to do
    with transaction(sessions) as session:
        row = session.get(OutboxMessage, first.id)
        assert row is not None
        assert (row.state, row.next_attempt_at, row.created_at) == ("pending", later, T0)


def test_recent_auto_replies_counts_replies_to_one_sender(
    sessions: sessionmaker[Session], templates: Templates
) -> None:
    other = Mailbox("piet@klant.nl")
    with transaction(sessions) as session:
        for minutes, kind, to in [(-90, "acknowledgement", None), (-50, "acknowledgement", None),
                                  (-10, "clarification", None), (-5, "acknowledgement", other),
                                  (-1, "dispatch", ENGINEERS)]:  # fmt: skip
            message = composed(templates, sample(kind), **({"to": to} if to else {}))
            enqueue(session, ticket_id=None, event_id=None, purpose=kind, message=message,
                    now=T0 + timedelta(minutes=minutes))  # fmt: skip
    with transaction(sessions) as session:
        since = T0 - timedelta(hours=1)
        assert recent_auto_replies(session, "Jan@Bakkerij-Jansen.nl", since) == 2
        assert recent_auto_replies(session, "piet@klant.nl", since) == 1
        assert recent_auto_replies(session, "engineers@example.nl", since) == 0
