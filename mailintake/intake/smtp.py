"""The SMTP listener: aiosmtpd, answering 250 only once the message is committed to the spool.

`IntakeHandler` accepts only the desk's own addresses (plus-addressed variants included, for
reply tokens), so the listener is never an open relay. Messages go to the spool through a
`SpoolWriter`, which commits whatever arrived while the previous commit ran in one transaction:
many clients at once cost a few commits, and no commit blocks the event loop. Any failure to
store, and any unexpected error, answers 451 4.3.0 so the sender retries; aiosmtpd's own default
would be a permanent 500 with the exception text in it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailintake.config import SmtpSettings
from mailintake.logs import log
from mailintake.storage.spool import Arrival, Spool

logger = logging.getLogger("mailintake.smtp")

REPLY_UNKNOWN_RECIPIENT = "550 5.1.1 Recipient address rejected: not a mailbox of this desk"
REPLY_TEMPORARY = "451 4.3.0 Temporary local problem, message not accepted; try again later"
REPLY_SHUTTING_DOWN = "421 4.3.2 Service shutting down; try again later"
REPLY_TOO_BIG = "552 5.3.4 Message size exceeds the fixed limit of this desk"

# aiosmtpd writes these replies itself; give them the enhanced status codes of RFC 3463.
FIXED_REPLIES = {
    "552 Error: Too much mail data": REPLY_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": REPLY_TOO_BIG,
}

# Ample for real mail, whose lines may exceed RFC 5322's 998 octets, yet bounded.
LINE_LENGTH_LIMIT = 64 * 1024


class SpoolWriter:
    """Commits arrivals in batches: each caller waits for the commit that holds its message."""

    def __init__(self, spool: Spool, *, max_batch_bytes: int = 64 * 1024 * 1024) -> None:
        self.spool = spool
        self.max_batch_bytes = max_batch_bytes
        self._pending: list[tuple[Arrival, asyncio.Future[int]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self._last_activity = float("-inf")

    def quiet_for(self) -> float:
        """Seconds since a message last arrived or was committed; 0 while one is in hand."""
        if self._pending or (self._drainer is not None and not self._drainer.done()):
            return 0.0
        return asyncio.get_running_loop().time() - self._last_activity

    async def store(self, arrival: Arrival) -> int:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._pending.append((arrival, future))
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        # A client that hangs up cancels its handler, not the commit its message is part of.
        return await asyncio.shield(future)

    async def idle(self) -> None:
        while self._drainer is not None and not self._drainer.done():
            await asyncio.wait({self._drainer})

    def _take_batch(self) -> list[tuple[Arrival, asyncio.Future[int]]]:
        batch, size = [], 0
        while self._pending and (
            not batch or size + len(self._pending[0][0].raw) <= self.max_batch_bytes
        ):
            item = self._pending.pop(0)
            batch.append(item)
            size += len(item[0].raw)
        return batch

    async def _drain(self) -> None:
        try:
            await self._drain_batches()
        finally:
            self._last_activity = asyncio.get_running_loop().time()

    async def _drain_batches(self) -> None:
        while self._pending:
            batch = self._take_batch()
            try:
                ids = await asyncio.to_thread(self.spool.store_many, [a for a, _ in batch])
            except Exception as error:
                if len(batch) > 1:
                    # Let one message's problem fail only that message.
                    for arrival, future in batch:
                        await self._store_one(arrival, future)
                    continue
                _settle(batch[0][1], error=error)
            else:
                for (_, future), spool_id in zip(batch, ids, strict=True):
                    _settle(future, result=spool_id)

    async def _store_one(self, arrival: Arrival, future: asyncio.Future[int]) -> None:
        try:
            _settle(future, result=await asyncio.to_thread(self.spool.store, arrival))
        except Exception as error:
            _settle(future, error=error)


def _settle(
    future: asyncio.Future[int], *, result: int | None = None, error: Exception | None = None
) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        assert result is not None
        future.set_result(result)


def recipient_accepted(address: str, recipients: Sequence[str]) -> bool:
    """True for a desk address, also with a +tag in its local part."""
    local, _, domain = address.lower().rpartition("@")
    base = local.split("+", 1)[0]
    return f"{local}@{domain}" in recipients or f"{base}@{domain}" in recipients


class IntakeHandler:
    def __init__(
        self,
        *,
        recipients: Sequence[str],
        writer: SpoolWriter,
        on_stored: Callable[[int], None] = lambda _spool_id: None,
    ) -> None:
        self.recipients = [r.lower() for r in recipients]
        self.writer = writer
        self.on_stored = on_stored
        self.closing = False
        self.in_data = 0
        self.connections: set[SMTP] = set()

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not recipient_accepted(address, self.recipients):
            log(logger, "recipient_rejected", logging.WARNING, peer=_peer(session),
                recipient=address)  # fmt: skip
            return REPLY_UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.closing:
            return REPLY_SHUTTING_DOWN
        raw = envelope.original_content or b""
        arrival = Arrival(
            raw=raw,
            source=f"smtp:{_peer(session)}",
            envelope_from=envelope.mail_from,
            envelope_to=tuple(envelope.rcpt_tos),
        )
        self.in_data += 1
        try:
            spool_id = await self.writer.store(arrival)
        except Exception as error:
            log(logger, "store_failed", logging.ERROR, peer=_peer(session), size=len(raw),
                error=f"{type(error).__name__}: {error}")  # fmt: skip
            return REPLY_TEMPORARY
        finally:
            self.in_data -= 1
        log(logger, "stored", spool_id=spool_id, peer=_peer(session), size=len(raw),
            mail_from=envelope.mail_from, rcpt=",".join(envelope.rcpt_tos))  # fmt: skip
        self.on_stored(spool_id)
        return f"250 2.0.0 Message accepted, spool id {spool_id}"

    async def handle_exception(self, error: Exception) -> str:
        log(logger, "session_error", logging.ERROR, error=f"{type(error).__name__}: {error}")
        return REPLY_TEMPORARY


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)


class DeskSMTP(SMTP):
    """aiosmtpd's SMTP with tolerant line lengths and RFC 3463 codes on its fixed replies."""

    line_length_limit = LINE_LENGTH_LIMIT
    event_handler: IntakeHandler

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            status = FIXED_REPLIES.get(status, status)
        await super().push(status)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self.event_handler.connections.add(self)

    def connection_lost(self, error: Exception | None) -> None:
        self.event_handler.connections.discard(self)
        super().connection_lost(error)


def load_users(path: Path) -> dict[str, str]:
    users: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, password = line.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"{path}:{number}: expected `username:password`")
        users[name.strip()] = password
    return users


class PasswordFileAuthenticator:
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        name = data.login.decode("utf-8", "replace")
        expected = self.users.get(name)
        ok = expected is not None and hmac.compare_digest(expected.encode(), data.password)
        log(logger, "auth_ok" if ok else "auth_failed", logging.INFO if ok else logging.WARNING,
            user=name, peer=_peer(session))  # fmt: skip
        return AuthResult(success=ok, handled=False)


def tls_context(settings: SmtpSettings, base_dir: Path) -> ssl.SSLContext | None:
    if settings.tls_cert is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert = settings.tls_cert if settings.tls_cert.is_absolute() else base_dir / settings.tls_cert
    key = settings.tls_key or settings.tls_cert
    key = key if key.is_absolute() else base_dir / key
    context.load_cert_chain(cert, key)
    return context


def smtp_factory(
    settings: SmtpSettings, handler: IntakeHandler, base_dir: Path
) -> Callable[[], DeskSMTP]:
    context = tls_context(settings, base_dir)
    authenticator = None
    if settings.auth.users_file is not None:
        users_file = settings.auth.users_file
        users_file = users_file if users_file.is_absolute() else base_dir / users_file
        authenticator = PasswordFileAuthenticator(load_users(users_file))

    def make() -> DeskSMTP:
        return DeskSMTP(
            handler,
            data_size_limit=settings.max_message_bytes,
            enable_SMTPUTF8=True,
            ident="mailintake",
            tls_context=context,
            require_starttls=settings.require_starttls,
            timeout=settings.timeout_seconds,
            authenticator=authenticator,
            auth_required=settings.auth.required,
            auth_require_tls=settings.auth.require_tls,
            loop=asyncio.get_running_loop(),
        )

    return make
