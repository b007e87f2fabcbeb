"""IMAP intake: one poller per `[[imap]]` mailbox, each in a thread of its own.

imapclient is synchronous, so every mailbox gets a dedicated thread (not the event loop's
default executor, which the pipeline worker needs): log in, select the folder, take every
message above the UID checkpoint in batches, wait with IDLE (or poll), and again. A batch is
fetched with BODY.PEEK[] (reading flags nothing), committed to the spool, and only then given
its after-store action (\\Seen, move or delete); the checkpoint moves last. A crash in between
fetches the batch again, and the pipeline's dedupe makes duplicates of it, never second tickets.
Connection trouble is retried with capped backoff and logged once per outage; a refused login or
a missing folder marks that mailbox unhealthy and is retried slowly, while the other mailboxes
carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from imapclient import IMAPClient
from imapclient.exceptions import (
    CapabilityError,
    IMAPClientAbortError,
    IMAPClientError,
    LoginError,
)
from imapclient.imapclient import SEEN, SocketTimeout
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailintake.headers import header_message_id
from mailintake.intake.imap_settings import (
    IDLE_RENEW_MAX_SECONDS,
    ImapSettings,
    PasswordUnavailable,
)
from mailintake.logs import FIELDS, log
from mailintake.storage import mailboxes
from mailintake.storage.spool import Arrival, Spool

logger = logging.getLogger("mailintake.imap")

# How long one IDLE wait blocks: the bound on how late a stop is noticed.
IDLE_CHECK_SECONDS = 1.0
# Connecting to a host that drops packets must not hold up a stop for the full read timeout.
CONNECT_TIMEOUT_MAX_SECONDS = 15.0
FIRST_BACKOFF_SECONDS = 1.0
# A refused login or a missing folder is retried this many backoff caps apart: often enough to
# notice a fix, rarely enough not to trip the server's brute-force guard (fail2ban: 5 in 10 min).
PROBLEM_RETRY_FACTOR = 5
# A message this big is fetched on its own (found with one SEARCH LARGER, not by asking every
# message's size), so a batch holds at most batch_size times this, plus one big one.
LARGE_MESSAGE_BYTES = 256 * 1024
# The checkpoint is written at most this often while a backlog is taken (and at its end): one
# commit fewer per batch, and a crash fetches at most this much again, as duplicates.
CHECKPOINT_SECONDS = 1.0
# UIDs per FETCH of sizes or headers; keeps command lines under servers' limits (Dovecot: 64 KB).
UID_WINDOW = 1000
SHUTDOWN_GRACE_SECONDS = 10.0
# A working session dropped by the server is retried at once, unless the last was this recent.
QUIET_RECONNECT_SECONDS = 30.0

# The connection is gone or never came: sockets, TLS, timeouts, EOF, BYE.
CONNECTION_ERRORS = (OSError, IMAPClientAbortError)
# Untagged responses in IDLE that say nothing about new mail: "* OK Still here", flag changes,
# expunges (ours, from moving and deleting), \Recent counts.
QUIET_RESPONSES = {b"OK", b"FETCH", b"EXPUNGE", b"RECENT"}

T = TypeVar("T")


class MailboxProblem(Exception):
    """Retrying soon will not help: a refused login, a missing folder, an untrusted certificate,
    an after-store action the server refuses. `kind` names it, so it is logged once."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class StoreFailed(Exception):
    """The database did not take the batch; the messages stay where they are on the server."""


@dataclass(frozen=True)
class FolderState:
    uid_validity: int
    uid_next: int | None
    exists: int
    writable: bool


def describe(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


def server_reply(error: BaseException) -> str:
    """What the server said, without imaplib's wrapping ("b'[AUTHENTICATIONFAILED] …'")."""
    text = str(error).strip()
    for prefix in ("b'", 'b"'):
        if text.startswith(prefix) and text.endswith(prefix[-1]):
            text = text[2:-1]
    return text[:300] or type(error).__name__


# --- connecting -----------------------------------------------------------------------------


def tls_context(settings: ImapSettings, base_dir: Path) -> ssl.SSLContext:
    ca_file = settings.ca_path(base_dir)
    try:
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    except (OSError, ssl.SSLError) as error:
        raise MailboxProblem(
            "tls",
            f"ca_file {str(ca_file)!r} cannot be used ({describe(error)}): give a readable PEM "
            "file with the server's CA or certificate",
        ) from None


def connect(settings: ImapSettings, base_dir: Path) -> IMAPClient:
    """A logged-in client; MailboxProblem for what needs the admin, OSError for the network."""
    try:
        password = settings.read_password(base_dir)
    except PasswordUnavailable as error:
        raise MailboxProblem("password", str(error)) from None
    context = tls_context(settings, base_dir) if settings.tls != "none" else None
    timeout = SocketTimeout(
        connect=min(settings.timeout_seconds, CONNECT_TIMEOUT_MAX_SECONDS),
        read=settings.timeout_seconds,
    )
    where = f"{settings.host}:{settings.port}"
    try:
        client = IMAPClient(
            settings.host,
            settings.port,
            ssl=settings.tls == "imaps",
            ssl_context=context,
            timeout=timeout,
        )
    except ssl.SSLCertVerificationError as error:
        raise _untrusted(where, error) from None
    try:
        # Aware datetimes for INTERNALDATE, not the local wall time imapclient gives by default.
        client.normalise_times = False
        keep_alive(client.socket())
        without_protocol_trace(client)
        if settings.tls == "starttls":
            try:
                client.starttls(context)
            except CapabilityError:
                raise MailboxProblem(
                    "tls",
                    f'{where} does not offer STARTTLS: use tls = "imaps" (port 993)',
                ) from None
        client.login(settings.username, password)
    except ssl.SSLCertVerificationError as error:
        close(client)
        raise _untrusted(where, error) from None
    except LoginError as error:
        close(client)
        raise MailboxProblem(
            "login",
            f"{where} refused the login of {settings.username!r} ({server_reply(error)}): "
            "check username and password",
        ) from None
    except BaseException:
        close(client)
        raise
    return client


def without_protocol_trace(client: IMAPClient) -> None:
    """Turn off imaplib's protocol trace unless someone listens to it.

    imapclient sets imaplib's debug level to 5 so that the trace can go to its
    `imapclient.imaplib` logger; imaplib then formats every line and every response, each
    message's bytes included (repr'd), into a string whether that logger wants it or not. For
    a backlog that is most of the CPU time a fetch takes. Debug logging of that logger turns
    the trace back on.
    """
    if not logging.getLogger("imapclient.imaplib").isEnabledFor(logging.DEBUG):
        client._imap.debug = 0


def keep_alive(sock: socket.socket) -> None:
    """TCP keepalives, so a server that vanished without a word (a cut link, a killed VM) is
    noticed in about two minutes in IDLE, not at the next renewal."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 15), ("TCP_KEEPCNT", 4)):
        if hasattr(socket, option):  # Linux; elsewhere the system's defaults apply
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


def _untrusted(where: str, error: ssl.SSLCertVerificationError) -> MailboxProblem:
    return MailboxProblem(
        "tls",
        f"the certificate of {where} is not trusted ({error.verify_message}): set ca_file to "
        "its CA or certificate, or connect by the name the certificate is for",
    )


def close(client: IMAPClient) -> None:
    """Log out if the server still listens, else just close the socket; never raise."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


@contextlib.contextmanager
def logged_in(settings: ImapSettings, base_dir: Path) -> Iterator[IMAPClient]:
    client = connect(settings, base_dir)
    try:
        yield client
    finally:
        close(client)


def select(client: IMAPClient, folder: str, readonly: bool = False) -> FolderState:
    try:
        info = client.select_folder(folder, readonly=readonly)
    except IMAPClientAbortError:
        raise
    except IMAPClientError as error:
        raise MailboxProblem(
            "folder",
            f"folder {folder!r} cannot be opened ({server_reply(error)}): check `folder`, "
            "e.g. INBOX",
        ) from None
    return FolderState(
        uid_validity=int(info[b"UIDVALIDITY"]),
        uid_next=int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
        exists=int(info.get(b"EXISTS", 0)),
        # Only an explicit [READ-ONLY] counts: some servers leave out the [READ-WRITE] code.
        writable=b"READ-ONLY" not in info,
    )


def uid_set(uids: Sequence[int]) -> str:
    """`1:3,7,9:10` for [1, 2, 3, 7, 9, 10], for STORE, MOVE and EXPUNGE. (FETCH takes a list:
    imapclient keeps only the answers for the UIDs it can count in its argument.)"""
    parts: list[str] = []
    ordered = sorted(uids)
    start = previous = ordered[0]
    for uid in [*ordered[1:], None]:
        if uid is not None and uid == previous + 1:
            previous = uid
            continue
        parts.append(str(start) if start == previous else f"{start}:{previous}")
        if uid is not None:
            start = previous = uid
    return ",".join(parts)


def uids_above(client: IMAPClient, last_uid: int) -> list[int]:
    # `N:*` always includes the highest UID, even one below N (RFC 3501 6.4.8): filter again.
    return sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)


def windows(uids: Sequence[int], size: int = UID_WINDOW) -> Iterator[Sequence[int]]:
    for start in range(0, len(uids), size):
        yield uids[start : start + size]


def large_uids_above(client: IMAPClient, last_uid: int) -> set[int]:
    found = client.search(["UID", f"{last_uid + 1}:*", "LARGER", str(LARGE_MESSAGE_BYTES)])
    return {uid for uid in found if uid > last_uid}


def batches(uids: Sequence[int], large: set[int], count: int) -> Iterator[list[int]]:
    """Runs of at most `count` messages in UID order; a large one goes alone."""
    batch: list[int] = []
    for uid in uids:
        if uid in large:
            if batch:
                yield batch
                batch = []
            yield [uid]
            continue
        batch.append(uid)
        if len(batch) >= count:
            yield batch
            batch = []
    if batch:
        yield batch


def arrival_time(data: dict[bytes, Any]) -> datetime | None:
    """The server's INTERNALDATE: when the mail host got it, which is when the customer's mail
    arrived, however late the daemon takes it. Never in the future."""
    value = data.get(b"INTERNALDATE")
    if not isinstance(value, datetime) or value.tzinfo is None:
        return None
    return min(value.astimezone(UTC), datetime.now(UTC))


# --- the poller -------------------------------------------------------------------------------


@dataclass
class Fetched:
    uid: int
    raw: bytes
    received_at: datetime | None


@dataclass
class Trouble:
    kind: str
    since: float


class MailboxPoller:
    """Follows one mailbox until `halt` is set; `run` never raises."""

    def __init__(
        self,
        settings: ImapSettings,
        sessions: sessionmaker[Session],
        halt: threading.Event,
        on_stored: Callable[[list[int]], None] | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.halt = halt
        self.on_stored = on_stored
        self.base_dir = base_dir or Path.cwd()
        self.spool = Spool(sessions)
        self.source = f"imap:{settings.key}"[:200]
        self.trouble: Trouble | None = None
        self.backoff = FIRST_BACKOFF_SECONDS
        self.health_known = False
        # Whether the current connection got as far as taking mail, and when one like that
        # was last dropped.
        self.session_ok = False
        self.last_drop = -QUIET_RECONNECT_SECONDS

    def _log(self, event: str, level: int = logging.INFO, **fields: Any) -> None:
        log(logger, event, level, mailbox=self.settings.label, **fields)

    # The loop, its waits and its troubles.

    def run(self) -> None:
        settings = self.settings
        self._log("polling", host=settings.host, port=settings.port, folder=settings.folder,
                  after_store=settings.after_store)  # fmt: skip
        while not self.halt.is_set():
            delay = self._one_session()
            if delay:
                self.halt.wait(delay)
        self._log("stopped")

    def _one_session(self) -> float:
        """Follow the mailbox over one connection; returns how long to wait before the next."""
        settings = self.settings
        self.session_ok = False
        try:
            with logged_in(settings, self.base_dir) as client:
                self._follow(client)
            return 0.0
        except MailboxProblem as problem:
            self._in_trouble(problem.kind, str(problem), logging.ERROR)
            self.backoff = FIRST_BACKOFF_SECONDS
            return settings.reconnect_max_seconds * PROBLEM_RETRY_FACTOR
        except StoreFailed as error:
            self._in_trouble("storage", str(error), logging.ERROR)
        except CONNECTION_ERRORS as error:
            problem = f"{settings.host}:{settings.port}: {describe(error)}"
            now = time.monotonic()
            if self.session_ok and now - self.last_drop > QUIET_RECONNECT_SECONDS:
                # Servers end sessions that worked (a restart, an autologout, a renumbered
                # folder): try again at once, and call it an outage only if that fails.
                self.last_drop = now
                self._log("connection_lost", problem=problem, retry="now")
                return 0.0
            self._in_trouble("connection", problem, logging.WARNING)
        except IMAPClientError as error:
            self._in_trouble("server", f"unexpected reply: {server_reply(error)}", logging.ERROR)
        except Exception as error:
            # A bug; the thread must live on for the next try, and the trace must be seen once.
            if self.trouble is None or self.trouble.kind != "bug":
                logger.exception("poller_error", extra={FIELDS: {"mailbox": settings.label}})
            self._in_trouble("bug", describe(error), logging.ERROR)
        delay = self.backoff
        self.backoff = min(self.backoff * 2, settings.reconnect_max_seconds)
        return min(delay, settings.reconnect_max_seconds)

    def _in_trouble(self, kind: str, message: str, level: int) -> None:
        """Log a trouble when it begins, not on every retry, and mark the mailbox unhealthy."""
        if self.trouble is not None and self.trouble.kind == kind:
            return
        self.trouble = Trouble(kind, time.monotonic())
        event = {
            "connection": "unreachable",
            "login": "login_failed",
            "folder": "folder_unusable",
            "storage": "store_failed",
        }.get(kind, f"{kind}_problem")
        self._log(event, level, problem=message, retry="with backoff"
                  if kind in ("connection", "storage", "server", "bug") else "slowly")  # fmt: skip
        self._quietly(mailboxes.mark_unhealthy, self.settings.key, f"{kind}: {message}")
        self.health_known = True

    def _recovered(self) -> None:
        if self.trouble is not None:
            down = time.monotonic() - self.trouble.since
            self._log("recovered", was=self.trouble.kind, after_seconds=f"{down:.1f}")
        if self.trouble is not None or not self.health_known:
            # Also at start: clear what a previous run left.
            self._db(mailboxes.mark_healthy, self.settings.key)
            self.health_known = True
        self.trouble = None
        self.backoff = FIRST_BACKOFF_SECONDS

    def _db(self, function: Callable[..., T], *args: Any) -> T:
        try:
            return function(self.sessions, *args)
        except (SQLAlchemyError, TimeoutError) as error:
            # TimeoutError is an OSError, and would pass for a network outage otherwise.
            raise StoreFailed(f"the database is unavailable: {describe(error)}") from None

    def _quietly(self, function: Callable[..., object], *args: Any) -> None:
        """Health marks are for the operator; a database outage must not hide the real one."""
        with contextlib.suppress(Exception):
            function(self.sessions, *args)

    # One connection.

    def _follow(self, client: IMAPClient) -> None:
        settings = self.settings
        use_idle = settings.idle and client.has_capability("IDLE")
        self._check_move_target(client)
        first = True
        while not self.halt.is_set():
            # SELECT again on every round: it reports a new UIDVALIDITY, gives UIDNEXT (no
            # search when nothing is new), and makes imaplib drop the responses it collected.
            state = select(client, settings.folder)
            if not state.writable:
                raise MailboxProblem(
                    "folder",
                    f"folder {settings.folder!r} is read-only for {settings.username!r}; the "
                    f"after-store action ({settings.after_store}) needs write access",
                )
            last_uid = self._position(client, state)
            if first and self.trouble is None:
                self._log("connected", idle="yes" if use_idle else "no",
                          uid_validity=state.uid_validity, last_uid=last_uid,
                          messages=state.exists)  # fmt: skip
            self._take_new(client, state, last_uid)
            if first:
                self._recovered()
                self.session_ok = True
                first = False
            if self.halt.is_set():
                return
            if use_idle:
                self._idle(client)
            else:
                self.halt.wait(settings.poll_seconds)

    def _check_move_target(self, client: IMAPClient) -> None:
        action = self.settings.action
        if action.action == "move" and not client.folder_exists(action.folder):
            raise MailboxProblem(
                "after_store",
                f"after_store moves to {action.folder!r}, which does not exist on the server: "
                "create that folder, or change after_store",
            )

    def _position(self, client: IMAPClient, state: FolderState) -> int:
        """The last UID taken in this UIDVALIDITY; sets it on first contact or a new one."""
        key = self.settings.key
        checkpoint = self._db(mailboxes.load, key)
        if checkpoint is None or checkpoint.uid_validity is None:
            start = 0
            if not self.settings.take_existing:
                start = self._highest_uid(client, state)
            self._db(mailboxes.start_over, key, state.uid_validity, start)
            self._log("first_contact", uid_validity=state.uid_validity, messages=state.exists,
                      taking="all" if start == 0 else f"above uid {start}")  # fmt: skip
            return start
        if checkpoint.uid_validity != state.uid_validity:
            # The server renumbered the folder (restored, recreated, migrated): take it all
            # again; what the spool already has becomes a duplicate, not a ticket.
            self._log("uidvalidity_changed", logging.WARNING, old=checkpoint.uid_validity,
                      new=state.uid_validity, messages=state.exists,
                      action="rescan; dedupe drops what was taken before")  # fmt: skip
            self._db(mailboxes.start_over, key, state.uid_validity, 0)
            return 0
        return checkpoint.last_uid

    @staticmethod
    def _highest_uid(client: IMAPClient, state: FolderState) -> int:
        if state.uid_next is not None:
            return state.uid_next - 1
        return max(client.search(["ALL"]), default=0)

    def _take_new(self, client: IMAPClient, state: FolderState, last_uid: int) -> None:
        """Take every message above `last_uid`, batch by batch, in UID order.

        (Committing one batch in a second thread while the next is fetched gains nothing:
        both sides are CPU work under one GIL, and the switching costs more than it saves.)
        """
        if state.uid_next is not None and state.uid_next - 1 <= last_uid:
            return
        uids = uids_above(client, last_uid)
        if not uids:
            return
        large = large_uids_above(client, last_uid)
        checkpoint = Checkpointing(self, state.uid_validity)
        try:
            for batch in batches(uids, large, self.settings.batch_size):
                if self.halt.is_set():
                    break
                self._take_batch(client, batch, checkpoint)
        finally:
            checkpoint.write()

    def _take_batch(self, client: IMAPClient, batch: list[int], checkpoint: Checkpointing) -> None:
        fetched = self._fetch(client, batch)
        spool_ids = self._store(fetched)
        for message, spool_id in zip(fetched, spool_ids, strict=True):
            self._log("stored", spool_id=spool_id, uid=message.uid, size=len(message.raw),
                      message_id=header_message_id(message.raw))  # fmt: skip
        if spool_ids and self.on_stored is not None:
            self.on_stored(spool_ids)
        # Only now that the spool has them: a crash before this line fetches them again.
        refused = self._after_store(client, [m.uid for m in fetched]) if fetched else None
        checkpoint.passed(max(batch), len(spool_ids))
        if refused is not None:
            # The messages are safe in the spool: the checkpoint moves past them (so they are
            # not fetched again and again), and the mailbox waits for the admin.
            checkpoint.write()
            raise MailboxProblem("after_store", refused)
        checkpoint.write_if_due()

    def _fetch(self, client: IMAPClient, batch: list[int]) -> list[Fetched]:
        """The batch's messages, unflagged; one the server cannot deliver is skipped and logged
        (it stays in the folder, and `imap check` counts it as never spooled)."""
        try:
            responses = client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
        except IMAPClientAbortError:
            raise
        except IMAPClientError:
            if len(batch) == 1:
                responses = {}
                self._log("fetch_failed", logging.ERROR, uid=batch[0],
                          problem="the server would not give it; left in the folder")  # fmt: skip
            else:
                return [m for uid in batch for m in self._fetch(client, [uid])]
        fetched = []
        for uid in batch:
            data = responses.get(uid)
            body = data.get(b"BODY[]") if data else None
            # Missing: expunged by someone else since the search; nothing to take.
            if isinstance(body, bytes):
                fetched.append(Fetched(uid, body, arrival_time(data)))
        return fetched

    def _store(self, fetched: list[Fetched]) -> list[int]:
        if not fetched:
            return []
        arrivals = [Arrival(m.raw, self.source, received_at=m.received_at) for m in fetched]
        try:
            return self.spool.store_many(arrivals)
        except Exception as error:
            raise StoreFailed(f"the spool did not take {len(arrivals)} message(s): "
                              f"{describe(error)}") from None  # fmt: skip

    def _after_store(self, client: IMAPClient, uids: list[int]) -> str | None:
        """Flag, move or delete; what the server said when it refused, else None."""
        action = self.settings.action
        messages = uid_set(uids)
        try:
            if action.action == "seen":
                client.add_flags(messages, [SEEN], silent=True)
            elif action.action == "delete":
                client.delete_messages(messages, silent=True)
                _expunge(client, messages)
            elif client.has_capability("MOVE"):
                client.move(messages, action.folder)
            else:
                client.copy(messages, action.folder)
                client.delete_messages(messages, silent=True)
                _expunge(client, messages)
        except IMAPClientAbortError:
            raise
        except IMAPClientError as error:
            return (
                f"after_store {action} was refused ({server_reply(error)}); the messages are "
                "spooled and left in the folder: fix the folder or the account's rights"
            )
        return None

    def _idle(self, client: IMAPClient) -> None:
        """Wait in IDLE until the server reports something that may be new mail, a stop, or
        `poll_seconds` (at most RFC 2177's 29 minutes) have passed."""
        client.idle()
        try:
            renew = min(self.settings.poll_seconds, IDLE_RENEW_MAX_SECONDS)
            deadline = time.monotonic() + renew
            while not self.halt.is_set() and time.monotonic() < deadline:
                started = time.monotonic()
                responses = client.idle_check(timeout=IDLE_CHECK_SECONDS)
                if any(_news(response) for response in responses):
                    return
                if not responses and time.monotonic() - started < IDLE_CHECK_SECONDS / 2:
                    # Woken with nothing to read: the server may have closed the connection
                    # (imapclient swallows the EOF). Leaving IDLE will tell.
                    return
        finally:
            client.idle_done()

    def take_waiting(self) -> None:
        """One connection: take what is waiting, then log out. Raises instead of retrying;
        for tests and the benchmark."""
        with logged_in(self.settings, self.base_dir) as client:
            self._check_move_target(client)
            state = select(client, self.settings.folder)
            self._take_new(client, state, self._position(client, state))
            self._recovered()


class Checkpointing:
    """The checkpoint of a take in progress: where it has got to, written now and then."""

    def __init__(self, poller: MailboxPoller, uid_validity: int) -> None:
        self.poller, self.uid_validity = poller, uid_validity
        self.last_uid: int | None = None
        self.stored = 0
        self.written_at = time.monotonic()

    def passed(self, last_uid: int, stored: int) -> None:
        self.last_uid = last_uid
        self.stored += stored

    def write_if_due(self) -> None:
        if time.monotonic() - self.written_at >= CHECKPOINT_SECONDS:
            self.write()

    def write(self) -> None:
        if self.last_uid is None:
            return
        poller = self.poller
        poller._db(mailboxes.advance, poller.settings.key, self.uid_validity, self.last_uid,
                   self.stored)  # fmt: skip
        self.last_uid, self.stored = None, 0
        self.written_at = time.monotonic()


def _expunge(client: IMAPClient, messages: str) -> None:
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(messages)
    else:
        # Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted: the usual
        # meaning of "delete" in a mail client, and the only way there is.
        client.expunge()


def _news(response: Any) -> bool:
    if not isinstance(response, tuple) or len(response) < 2:
        return True
    kind = response[1] if isinstance(response[0], int) else response[0]
    return kind not in QUIET_RESPONSES


# --- running them ---------------------------------------------------------------------------


async def run_pollers(
    settings: Sequence[ImapSettings],
    sessions: sessionmaker[Session],
    stop: asyncio.Event,
    on_stored: Callable[[int], None],
    base_dir: Path,
) -> None:
    """Follow every configured mailbox until `stop` is set, each in a thread of its own.

    `on_stored(spool_id)` runs on the event loop for each message spooled (e.g. `wake.set`).
    After `stop`, each poller finishes the batch in hand (up to `SHUTDOWN_GRACE_SECONDS`).
    """
    if not settings:
        return
    loop = asyncio.get_running_loop()
    halt = threading.Event()

    def stored(spool_ids: list[int]) -> None:
        def notify() -> None:
            for spool_id in spool_ids:
                on_stored(spool_id)

        with contextlib.suppress(RuntimeError):  # the loop closed while a batch was in hand
            loop.call_soon_threadsafe(notify)

    finished: list[asyncio.Future[None]] = []
    seen: set[str] = set()
    for entry in settings:
        if entry.key in seen:
            log(logger, "duplicate_mailbox", logging.ERROR, mailbox=entry.label, key=entry.key,
                problem="configured twice; following it once")  # fmt: skip
            continue
        seen.add(entry.key)
        poller = MailboxPoller(entry, sessions, halt, stored, base_dir)
        finished.append(_start_thread(loop, poller))
    try:
        await stop.wait()
    finally:
        halt.set()
        _done, busy = await asyncio.wait(finished, timeout=SHUTDOWN_GRACE_SECONDS)
        if busy:
            log(logger, "pollers_still_busy", logging.WARNING, count=len(busy),
                note="a batch not flagged yet is fetched again next time")  # fmt: skip


def _start_thread(loop: asyncio.AbstractEventLoop, poller: MailboxPoller) -> asyncio.Future[None]:
    done: asyncio.Future[None] = loop.create_future()

    def finish() -> None:
        if not done.done():
            done.set_result(None)

    def target() -> None:
        try:
            poller.run()
        finally:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(finish)

    # A daemon thread: one stuck in a read (up to timeout_seconds) must not keep the process
    # alive after serve returns; what it had not flagged is fetched again next time.
    threading.Thread(target=target, name=f"imap {poller.settings.label}", daemon=True).start()
    return done
