"""Delivery against a real SMTP server on loopback: sent, retried, failed, and never lost.

Time is driven by passing `now`; nothing here sleeps. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import OutboundSettings
from mailintake.notifier.compose import Mailbox
from mailintake.notifier.contexts import KINDS
from mailintake.notifier.delivery import Outage, claim, deliver_due, retry_delay
from mailintake.notifier.outbox import enqueue
from mailintake.notifier.settings import DeliverySettings
from mailintake.notifier.templates import Templates
from mailintake.notifier.transport import SmtpTransport
from mailintake.storage.database import transaction
from mailintake.storage.models import OutboxMessage, OutboxState
from tests.notifier.conftest import (
    ENGINEERS,
    T0,
    FakeMta,
    authenticator,
    composed,
    sample,
    start_mta,
)
from tests.support.servers import free_port

ENGINEER_KINDS = {"dispatch", "sla_warning", "command_error"}
AUTO_REPLIED = {"acknowledgement", "clarification", "user_admin_forms"}
# Written by a person (an engineer), so neither auto-replied nor auto-generated.
PERSONAL = {"relay"}


def queue(
    sessions: sessionmaker[Session],
    templates: Templates,
    kind: str = "acknowledgement",
    *,
    language: str = "nl",
    cc: tuple[Mailbox, ...] = (),
    now: datetime = T0,
) -> OutboxMessage:
    to = {"to": ENGINEERS} if kind in ENGINEER_KINDS else {}
    message = composed(templates, sample(kind), language=language, cc=cc, now=now, **to)
    with transaction(sessions) as session:
        return enqueue(
            session, ticket_id=None, event_id=None, purpose=kind, message=message, now=now
        )


def stored(sessions: sessionmaker[Session], outbox_id: int) -> OutboxMessage:
    with transaction(sessions) as session:
        row = session.get(OutboxMessage, outbox_id)
        assert row is not None
        return row


def close_to(moment: datetime | None, expected: datetime) -> bool:
    # Delivery adds the run's own (sub-second) running time to the `now` it was given.
    return moment is not None and timedelta(0) <= moment - expected < timedelta(seconds=5)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_kind_arrives_with_its_headers_and_both_parts(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
    language: str,
) -> None:
    rows = {kind: queue(sessions, templates, kind, language=language) for kind in KINDS}
    report = deliver_due(sessions, outbound, delivery_settings, T0)
    assert sorted(report.sent) == sorted(row.id for row in rows.values())
    assert mta.sessions == 1  # one SMTP session for the whole run
    received = {item.message()["Message-ID"]: item for item in mta.received}
    closing = "Met vriendelijke groet" if language == "nl" else "Kind regards"
    for kind, row in rows.items():
        # The Message-ID stored before sending is the one the server received.
        item = received[row.message_id]
        message = item.message()
        assert item.mail_from == "support@example.nl"
        expected_to = "engineers@example.nl" if kind in ENGINEER_KINDS else "jan@bakkerij-jansen.nl"
        assert item.rcpt_tos == (expected_to,)
        assert message["Subject"] == templates.render(sample(kind), language).subject
        assert message["Auto-Submitted"] == (
            None
            if kind in PERSONAL
            else "auto-replied"
            if kind in AUTO_REPLIED
            else "auto-generated"
        )
        assert message["Content-Language"] == language
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        assert text is not None and html is not None
        assert (closing in text.get_content()) == (kind not in ENGINEER_KINDS | PERSONAL)
        assert f'<html lang="{language}">' in html.get_content()
        after = stored(sessions, row.id)
        assert after.state == OutboxState.SENT and after.attempts == 1
        assert close_to(after.sent_at, T0)


def test_a_451_is_retried_with_backoff_and_then_sent(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates)
    mta.answer_data("451 4.3.0 Temporary local problem", "451 4.3.0 Temporary local problem")

    report = deliver_due(sessions, outbound, delivery_settings, T0)
    assert report.retrying == [row.id] and not mta.received
    first = stored(sessions, row.id)
    assert first.state == OutboxState.PENDING and first.attempts == 1
    assert first.last_error == "451 4.3.0 Temporary local problem"
    assert close_to(first.next_attempt_at, T0 + timedelta(seconds=60))

    # Not due yet: the run does not even connect.
    assert deliver_due(sessions, outbound, delivery_settings, T0 + timedelta(seconds=30)).sent == []
    assert mta.sessions == 1

    second_try = T0 + timedelta(seconds=61)
    deliver_due(sessions, outbound, delivery_settings, second_try)
    second = stored(sessions, row.id)
    assert second.attempts == 2
    assert close_to(second.next_attempt_at, second_try + timedelta(seconds=120))  # doubled

    third_try = second_try + timedelta(seconds=121)
    assert deliver_due(sessions, outbound, delivery_settings, third_try).sent == [row.id]
    done = stored(sessions, row.id)
    assert done.state == OutboxState.SENT and done.attempts == 3
    assert close_to(done.sent_at, third_try)
    [item] = mta.received
    assert item.message()["Message-ID"] == row.message_id


def test_backoff_doubles_up_to_the_maximum(delivery_settings: DeliverySettings) -> None:
    delays = [retry_delay(n, delivery_settings).total_seconds() for n in range(1, 9)]
    assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_message_still_failing_after_the_give_up_age_fails(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates)
    mta.answer_data("452 4.3.1 Insufficient system storage")
    report = deliver_due(sessions, outbound, delivery_settings, T0 + timedelta(hours=48))
    assert report.failed == [row.id]
    failed = stored(sessions, row.id)
    assert failed.state == OutboxState.FAILED
    assert (
        failed.last_error
        == "gave up after 48 h of retries; last: 452 4.3.1 Insufficient system storage"
    )


@pytest.mark.parametrize("reply", ["550 5.7.1 Relaying denied", "554 5.6.0 Message rejected"])
def test_a_permanent_failure_is_recorded_and_not_retried(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
    reply: str,
) -> None:
    row = queue(sessions, templates)
    mta.answer_data(reply)
    assert deliver_due(sessions, outbound, delivery_settings, T0).failed == [row.id]
    failed = stored(sessions, row.id)
    assert (failed.state, failed.last_error) == (OutboxState.FAILED, reply)
    assert deliver_due(sessions, outbound, delivery_settings, T0 + timedelta(days=1)).sent == []
    assert not mta.received


def test_552_is_temporary_as_rfc_5321_and_mailman_say(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates)
    mta.refuse("jan@bakkerij-jansen.nl", "552 5.5.3 Too many recipients")
    assert deliver_due(sessions, outbound, delivery_settings, T0).retrying == [row.id]
    assert stored(sessions, row.id).state == OutboxState.PENDING


def test_a_recipient_refused_for_good_is_dropped_and_the_others_get_it(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates, cc=(Mailbox("oud@bakkerij-jansen.nl"),))
    mta.refuse("oud@bakkerij-jansen.nl", "550 5.1.1 No such user")
    assert deliver_due(sessions, outbound, delivery_settings, T0).sent == [row.id]
    sent = stored(sessions, row.id)
    assert sent.state == OutboxState.SENT
    assert sent.last_error == "oud@bakkerij-jansen.nl: 550 5.1.1 No such user"
    [item] = mta.received
    assert item.rcpt_tos == ("jan@bakkerij-jansen.nl",)


def test_a_recipient_refused_for_now_gets_it_later_and_nobody_twice(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates, cc=(Mailbox("vol@bakkerij-jansen.nl"),))
    mta.refuse("vol@bakkerij-jansen.nl", "452 4.2.2 Mailbox full")
    assert deliver_due(sessions, outbound, delivery_settings, T0).retrying == [row.id]
    pending = stored(sessions, row.id)
    assert pending.recipients == ["vol@bakkerij-jansen.nl"]
    assert pending.last_error == "vol@bakkerij-jansen.nl: 452 4.2.2 Mailbox full"
    later = T0 + timedelta(minutes=2)
    assert deliver_due(sessions, outbound, delivery_settings, later).sent == [row.id]
    assert [item.rcpt_tos for item in mta.received] == [
        ("jan@bakkerij-jansen.nl",),
        ("vol@bakkerij-jansen.nl",),
    ]
    assert len({item.message()["Message-ID"] for item in mta.received}) == 1


def test_a_server_that_is_down_is_logged_once_per_outage(
    sessions: sessionmaker[Session],
    templates: Templates,
    delivery_settings: DeliverySettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens here yet: connection refused
    outbound = OutboundSettings(host="127.0.0.1", port=port)
    rows = [queue(sessions, templates) for _ in range(3)]
    outage = Outage()
    caplog.set_level(logging.INFO, logger="mailintake.notify")

    first = deliver_due(sessions, outbound, delivery_settings, T0, outage=outage)
    assert first.server_down and first.retrying == [rows[0].id] and not first.sent
    tried = stored(sessions, rows[0].id)
    assert tried.attempts == 1 and "ConnectionRefusedError" in (tried.last_error or "")
    assert close_to(tried.next_attempt_at, T0 + timedelta(seconds=60))
    # The others were not tried against a dead server: still due, attempts untouched.
    assert [stored(sessions, r.id).attempts for r in rows[1:]] == [0, 0]

    for minutes in (1, 2, 5):
        report = deliver_due(
            sessions, outbound, delivery_settings, T0 + timedelta(minutes=minutes), outage=outage
        )
        assert report.server_down
    down = [r for r in caplog.records if r.getMessage() == "outbound_unreachable"]
    assert len(down) == 1 and down[0].levelno == logging.WARNING

    handler = FakeMta()
    controller = start_mta(handler, port)
    try:
        report = deliver_due(
            sessions, outbound, delivery_settings, T0 + timedelta(hours=1), outage=outage
        )
    finally:
        controller.stop()
    assert sorted(report.sent) == sorted(r.id for r in rows)
    assert len(handler.received) == 3
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("outbound_unreachable") == 1
    assert messages.count("outbound_reachable_again") == 1


def test_a_connection_the_server_closed_between_messages_is_opened_again(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    rows = [queue(sessions, templates) for _ in range(3)]
    mta.hang_up_after = 1
    report = deliver_due(sessions, outbound, delivery_settings, T0)
    assert sorted(report.sent) == sorted(r.id for r in rows) and not report.retrying
    assert mta.sessions == 3 and len(mta.received) == 3
    assert [stored(sessions, r.id).attempts for r in rows] == [1, 1, 1]


def test_a_crash_after_the_server_took_it_means_a_resend_with_the_same_message_id(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    row = queue(sessions, templates)
    lease = timedelta(seconds=delivery_settings.lease_seconds)
    # A daemon claims and sends, then dies before it can mark the row sent.
    claimed = claim(sessions, row.id, T0, lease)
    assert claimed is not None
    with SmtpTransport(outbound) as transport:
        transport.send("support@example.nl", claimed.recipients, claimed.raw)
    # While the lease holds, nobody sends it again.
    assert deliver_due(sessions, outbound, delivery_settings, T0 + timedelta(seconds=10)).sent == []
    # After it, the message goes again: at least once, recognisably the same mail.
    after = T0 + lease + timedelta(seconds=1)
    assert deliver_due(sessions, outbound, delivery_settings, after).sent == [row.id]
    assert [item.message()["Message-ID"] for item in mta.received] == [row.message_id] * 2
    assert stored(sessions, row.id).attempts == 2


def test_a_claim_is_exclusive(sessions: sessionmaker[Session], templates: Templates) -> None:
    row = queue(sessions, templates)
    lease = timedelta(minutes=5)
    assert claim(sessions, row.id, T0, lease) is not None
    assert claim(sessions, row.id, T0 + timedelta(minutes=1), lease) is None
    assert claim(sessions, row.id, T0 + timedelta(minutes=6), lease) is not None


def test_two_daemons_on_one_database_send_each_message_once(
    sessions: sessionmaker[Session],
    templates: Templates,
    mta: FakeMta,
    outbound: OutboundSettings,
    delivery_settings: DeliverySettings,
) -> None:
    rows = [queue(sessions, templates) for _ in range(12)]
    reports = []
    errors: list[BaseException] = []

    def daemon() -> None:
        try:
            reports.append(deliver_due(sessions, outbound, delivery_settings, T0))
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=daemon) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sorted(i for report in reports for i in report.sent) == sorted(r.id for r in rows)
    ids = [item.message()["Message-ID"] for item in mta.received]
    assert sorted(ids) == sorted(row.message_id for row in rows)


def test_starttls_and_login_as_configured(
    sqlite_sessions: sessionmaker[Session],
    templates: Templates,
    tls_files,  # type: ignore[no-untyped-def]
) -> None:
    handler = FakeMta()
    controller = start_mta(
        handler, free_port(), tls_context=tls_files.server_context(), require_starttls=True,
        authenticator=authenticator, auth_required=True,
    )  # fmt: skip
    try:
        outbound = OutboundSettings(
            host="127.0.0.1", port=controller.port, security="starttls",
            username="mailintake", password="geheim",
        )  # fmt: skip
        settings = DeliverySettings(tls_ca_file=tls_files.cert, timeout_seconds=5)
        row = queue(sqlite_sessions, templates)
        assert deliver_due(sqlite_sessions, outbound, settings, T0).sent == [row.id]
        assert handler.received[0].message()["Message-ID"] == row.message_id

        # A wrong password is the server's refusal, not the message's fault: kept for later.
        wrong = outbound.model_copy(update={"password": "fout"})
        other = queue(sqlite_sessions, templates)
        report = deliver_due(sqlite_sessions, wrong, settings, T0)
        assert report.server_down and report.retrying == [other.id]
        assert "535" in (stored(sqlite_sessions, other.id).last_error or "")
    finally:
        controller.stop()


def test_a_server_certificate_we_do_not_trust_is_refused(
    sqlite_sessions: sessionmaker[Session],
    templates: Templates,
    tls_files,  # type: ignore[no-untyped-def]
) -> None:
    handler = FakeMta()
    controller = start_mta(handler, free_port(), tls_context=tls_files.server_context())
    try:
        outbound = OutboundSettings(host="127.0.0.1", port=controller.port, security="starttls")
        row = queue(sqlite_sessions, templates)
        report = deliver_due(sqlite_sessions, outbound, DeliverySettings(), T0)
        assert report.server_down and report.retrying == [row.id]
        assert "CERTIFICATE_VERIFY_FAILED" in (stored(sqlite_sessions, row.id).last_error or "")
        assert not handler.received
    finally:
        controller.stop()
