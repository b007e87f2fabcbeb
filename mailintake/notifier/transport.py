"""One SMTP client session to the outbound server, reused for every message of a delivery run.

The transaction (MAIL, RCPT per recipient, DATA) is written out instead of calling
`smtplib.sendmail`, so the caller learns exactly what happened: which recipients were refused
with which reply, whether MAIL or DATA refused the whole message, and whether a broken
connection broke before DATA (nothing can have been delivered: safe to try again at once) or
during it (the server may have taken the message: at-least-once, see `notifier.delivery`).
Problems starting a session — connect, greeting, EHLO, STARTTLS, AUTH — raise
`ServerUnavailable`: they are about the server or our settings, never about one message.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailintake.config import OutboundSettings


@dataclass(frozen=True)
class Reply:
    """An SMTP reply: its code and text."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()

    @property
    def permanent(self) -> bool:
        """5xx is permanent, except 552 in reply to RCPT: RFC 5321 4.5.3.1.10 says to treat
        it as "too many recipients", i.e. temporary. Mailman applies this to every 552, and
        so do we: retrying a message that is really too big costs little until it gives up."""
        return self.code >= 500 and self.code != 552


@dataclass(frozen=True)
class Attempt:
    """What the server said to one message: `rejected` is set when MAIL or DATA refused it
    as a whole; otherwise `accepted` got it and `refused` (RCPT replies) did not."""

    accepted: tuple[str, ...] = ()
    refused: dict[str, Reply] = field(default_factory=dict)
    rejected: Reply | None = None


class ServerUnavailable(Exception):
    """No session with the outbound server: it is down, unreachable or refused us."""


class ConnectionLost(Exception):
    """The connection broke in the middle of a message; `during_data` says whether the
    server may already have taken it."""

    def __init__(self, message: str, *, during_data: bool) -> None:
        super().__init__(message)
        self.during_data = during_data


def describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"


def _text(message: bytes | str) -> str:
    return message.decode("utf-8", "replace") if isinstance(message, bytes) else message


def tls_context(ca_file: Path | None = None) -> ssl.SSLContext:
    """Verify the server's certificate and name, against `ca_file` if given (an internal CA)."""
    return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)


class SmtpTransport:
    """A lazily opened SMTP session; `close()` (or `with`) ends it."""

    def __init__(
        self,
        outbound: OutboundSettings,
        *,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        local_hostname: str | None = None,
    ) -> None:
        self.outbound = outbound
        self.timeout = timeout
        self.ssl_context = ssl_context
        # The name we give in EHLO; None lets smtplib ask the system for its FQDN.
        self.local_hostname = local_hostname
        self._client: smtplib.SMTP | None = None
        self._used = False

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()

    def send(self, sender: str, recipients: Sequence[str], raw: bytes) -> Attempt:
        """One transaction. Raises `ServerUnavailable` or `ConnectionLost`; every reply the
        server gives is in the returned `Attempt`."""
        if not recipients:
            raise ValueError("a message needs at least one recipient")
        reused = self._client is not None and self._used
        try:
            return self._transaction(self._session(), sender, recipients, raw)
        except ConnectionLost as error:
            # A server may close an idle or "enough for now" connection between two messages;
            # before DATA nothing was delivered, so one fresh session may try again at once.
            if not reused or error.during_data:
                raise
            return self._transaction(self._session(), sender, recipients, raw)

    def _session(self) -> smtplib.SMTP:
        if self._client is None:
            self._client = self._connect()
            self._used = False
        return self._client

    def _connect(self) -> smtplib.SMTP:
        settings = self.outbound
        # Loading the system's CA bundle takes tens of milliseconds: only when TLS is used.
        context = (self.ssl_context or tls_context()) if settings.security != "none" else None
        client: smtplib.SMTP | None = None
        try:
            if settings.security == "tls":
                client = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    self.local_hostname,
                    timeout=self.timeout,
                    context=context,
                )
            else:
                client = smtplib.SMTP(
                    settings.host, settings.port, self.local_hostname, timeout=self.timeout
                )
            client.ehlo_or_helo_if_needed()
            if settings.security == "starttls":
                # Raises SMTPNotSupportedError if not offered: never fall back to plain text.
                client.starttls(context=context)
                client.ehlo()
            if settings.username:
                client.login(settings.username, settings.password or "")
            return client
        except (OSError, smtplib.SMTPException) as error:
            if client is not None:
                client.close()
            where = f"{settings.host}:{settings.port}"
            raise ServerUnavailable(f"{where}: {describe(error)}") from error

    def _transaction(
        self, client: smtplib.SMTP, sender: str, recipients: Sequence[str], raw: bytes
    ) -> Attempt:
        self._used = True
        stage = "MAIL"
        try:
            code, message = client.mail(sender)
            if code != 250:
                return self._abort(client, Reply(code, _text(message)))
            stage = "RCPT"
            refused: dict[str, Reply] = {}
            for recipient in recipients:
                code, message = client.rcpt(recipient)
                if code == 421:
                    # The server is closing: nothing was delivered to anyone.
                    return self._abort(client, Reply(code, _text(message)))
                if code not in (250, 251):
                    refused[recipient] = Reply(code, _text(message))
            accepted = tuple(r for r in recipients if r not in refused)
            if not accepted:
                client.rset()
                return Attempt(refused=refused)
            stage = "DATA"
            try:
                code, message = client.data(raw)
            except smtplib.SMTPDataError as error:
                # The server refused DATA itself (no 354): nothing was sent.
                return self._abort(client, Reply(error.smtp_code, _text(error.smtp_error)))
            if code != 250:
                return self._abort(client, Reply(code, _text(message)), rset=False)
            return Attempt(accepted=accepted, refused=refused)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self._drop()
            raise ConnectionLost(
                f"connection lost during {stage}: {describe(error)}", during_data=stage == "DATA"
            ) from error

    def _abort(self, client: smtplib.SMTP, reply: Reply, *, rset: bool = True) -> Attempt:
        if reply.code == 421:
            self._drop()
        elif rset:
            try:
                client.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
        return Attempt(rejected=reply)

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()
