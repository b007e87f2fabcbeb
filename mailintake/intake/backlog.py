"""Backlog import: an old support mailbox, as an mbox file or a Maildir folder, into the spool.

Each message goes in byte for byte, with the time it was delivered (the mbox `From ` line, the
Maildir file's modification time), in batches of one transaction each, behind a progress bar.
A message whose exact bytes the spool already holds is skipped, so running an import twice, or
importing a mailbox the IMAP poller also reads, stores nothing twice; everything else is left to
the pipeline's dedupe by Message-ID, as for mail from any other source. Input that is empty or
binary is not a message and is counted, not stored, as `mailintake ingest` does.
"""

from __future__ import annotations

import email.utils
import hashlib
import mailbox
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.parse import NotAMessage, check_is_message
from mailintake.storage.mailboxes import spooled
from mailintake.storage.spool import Arrival, Spool

BATCH_MESSAGES = 200
BATCH_BYTES = 32 * 1024 * 1024


class BacklogError(Exception):
    """The mailbox cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class Item:
    name: str
    raw: bytes
    received_at: datetime | None


@dataclass
class Backlog:
    """Where the messages come from, how many there are, and the messages one by one."""

    source: str
    total: int
    items: Iterator[Item]


@dataclass
class ImportReport:
    total: int = 0
    stored: int = 0
    already: int = 0
    not_messages: list[str] = field(default_factory=list)
    spool_ids: list[int] = field(default_factory=list)


def _asctime(text: str) -> datetime | None:
    """The date of an mbox `From sender Tue Mar  3 09:00:00 2026` line, taken as UTC."""
    parts = text.split(None, 2)
    if len(parts) < 3:
        return None
    try:
        parsed = time.strptime(" ".join(parts[2].split()[:5]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return datetime(*parsed[:6], tzinfo=UTC)


def _date_header(raw: bytes) -> datetime | None:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    for line in head.splitlines():
        if line[:5].lower() == b"date:":
            try:
                parsed = email.utils.parsedate_to_datetime(line[5:].decode("latin-1").strip())
            except (TypeError, ValueError, IndexError):
                return None
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def read_mbox(path: Path) -> Backlog:
    if not path.is_file():
        raise BacklogError(f"{path}: no such file (give an mbox file)")
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as error:
        raise BacklogError(f"{path}: cannot be read as mbox: {error}") from None

    def items() -> Iterator[Item]:
        try:
            for number, key in enumerate(keys, 1):
                with_from = box.get_bytes(key, from_=True)
                first, _, raw = with_from.partition(b"\n")
                when = _asctime(first.decode("latin-1")) or _date_header(raw)
                yield Item(f"{path.name} #{number}", raw, when)
        finally:
            box.close()

    return Backlog(f"import:mbox:{path}"[:200], len(keys), items())


def read_maildir(path: Path) -> Backlog:
    """A Maildir's `new/` and `cur/` messages, oldest delivery first. Subfolders (`.Sent`,
    …) are not followed: name one to import it."""
    if not (path / "cur").is_dir() and not (path / "new").is_dir():
        raise BacklogError(f"{path}: not a Maildir (it has no cur/ or new/ folder)")
    files: list[tuple[float, str, Path]] = []
    for sub in ("new", "cur"):
        folder = path / sub
        if not folder.is_dir():
            continue
        for entry in os.scandir(folder):
            if entry.is_file() and not entry.name.startswith("."):
                files.append((entry.stat().st_mtime, entry.name, Path(entry.path)))
    files.sort()

    def items() -> Iterator[Item]:
        for mtime, name, file in files:
            try:
                raw = file.read_bytes()
            except FileNotFoundError:
                continue  # moved or deleted by a mail client since the listing
            yield Item(name, raw, datetime.fromtimestamp(mtime, UTC))

    return Backlog(f"import:maildir:{path}"[:200], len(files), items())


def import_backlog(
    backlog: Backlog,
    sessions: sessionmaker[Session],
    advance: Callable[[int], None] | None = None,
) -> ImportReport:
    """Spool what is new; `advance(n)` is told after each batch how many it handled."""
    spool = Spool(sessions)
    report = ImportReport(total=backlog.total)
    seen: set[str] = set()
    batch: list[tuple[str, Item]] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        if not batch:
            return
        known = spooled(sessions, digests=[digest for digest, _ in batch])
        fresh = [(digest, item) for digest, item in batch if digest not in known]
        report.already += len(batch) - len(fresh)
        if fresh:
            arrivals = [Arrival(item.raw, backlog.source, received_at=item.received_at)
                        for _, item in fresh]  # fmt: skip
            report.spool_ids += spool.store_many(arrivals)
            report.stored += len(fresh)
        if advance is not None:
            advance(len(batch))
        batch, size = [], 0

    for item in backlog.items:
        try:
            check_is_message(item.raw)
        except NotAMessage as error:
            report.not_messages.append(f"{item.name}: {error}")
            if advance is not None:
                advance(1)
            continue
        digest = hashlib.sha256(item.raw).hexdigest()
        if digest in seen:  # twice in the same mailbox
            report.already += 1
            if advance is not None:
                advance(1)
            continue
        seen.add(digest)
        batch.append((digest, item))
        size += len(item.raw)
        if len(batch) >= BATCH_MESSAGES or size >= BATCH_BYTES:
            flush()
    flush()
    return report
