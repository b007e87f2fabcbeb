"""A real SMTP server for the notifier's tests, and the pieces every test composes mail with.

`FakeMta` is an aiosmtpd handler on 127.0.0.1 (a free port per test) that records what it
accepts and can be told what to answer next: a 451 or 550 to DATA, a refusal of one recipient.
Delivery talks to it with smtplib exactly as it talks to a production relay.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailintake.config import OutboundSettings
from mailintake.notifier.compose import ComposedMessage, Mailbox, Parent, Purpose, compose
from mailintake.notifier.contexts import Desk, MailContext
from mailintake.notifier.samples import SAMPLES
from mailintake.notifier.settings import DeliverySettings
from mailintake.notifier.templates import Templates
from tests.support.mta import FakeMta, start_mta
from tests.support.servers import unavailable

__all__ = ["FakeMta", "start_mta"]

# Monday 2 March 2026, 16:00 in Amsterdam: the seed's example report time.
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DESK = Desk(name="CNE Servicedesk", address="support@example.nl", phone="+31 20 123 4567")
SENDER = Mailbox("support@example.nl", "CNE Servicedesk")
CUSTOMER = Mailbox("jan@bakkerij-jansen.nl", "Jan de Vries")
ENGINEERS = Mailbox("engineers@example.nl")


@pytest.fixture
def outbound(mta: FakeMta) -> OutboundSettings:
    return OutboundSettings(host="127.0.0.1", port=mta.port)  # type: ignore[attr-defined]


@pytest.fixture
def delivery_settings() -> DeliverySettings:
    return DeliverySettings(
        base_delay_seconds=60, max_delay_seconds=3600, give_up_after_hours=48,
        lease_seconds=300, timeout_seconds=5,
    )  # fmt: skip


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()


PURPOSES = {kind: Purpose(kind) for kind in SAMPLES}


def composed(
    templates: Templates,
    context: MailContext,
    *,
    language: str = "nl",
    to: Mailbox = CUSTOMER,
    cc: tuple[Mailbox, ...] = (),
    ref: str | None = None,
    parent: Parent | None = None,
    now: datetime = T0,
) -> ComposedMessage:
    """The mail a context stands for, as the pipeline would compose it."""
    ref = ref or getattr(context, "ref", None) or getattr(context, "reference", None)
    return compose(
        templates.render(context, language),
        purpose=PURPOSES[context.kind], sender=SENDER, to=[to], cc=cc, now=now, ref=ref,
        parent=parent,
    )  # fmt: skip


def sample(kind: str, index: int = 0) -> MailContext:
    return SAMPLES[kind][index]


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [str(openssl), "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return TlsFiles(cert, key)


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    if isinstance(auth_data, LoginPassword) and auth_data.password == b"geheim":
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)
