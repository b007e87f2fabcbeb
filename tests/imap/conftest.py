"""Fixtures for the IMAP tests: one Dovecot for the session, a mailbox per test, pollers running
in a thread of their own (as `serve` runs them), and the poller's log lines as data."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.imap import run_pollers
from mailintake.intake.imap_settings import ImapSettings
from mailintake.logs import FIELDS
from mailintake.storage.spool import Spool, SpoolEntry
from tests.support.dovecot import Dovecot, MailUser, start_dovecot


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    server = start_dovecot(tls=True)
    yield server
    server.remove()


@pytest.fixture
def user(dovecot: Dovecot) -> MailUser:
    return dovecot.add_user()


class LogLines(logging.Handler):
    """The structured lines a logger wrote: (event, fields)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[str, dict[str, Any]]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.getMessage(), dict(getattr(record, FIELDS, {}))))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [fields for event, fields in self.records if event == name]

    def names(self) -> list[str]:
        return [event for event, _ in self.records]


@pytest.fixture
def imap_log() -> Iterator[LogLines]:
    lines = LogLines()
    logger = logging.getLogger("mailintake.imap")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(lines)
    yield lines
    logger.removeHandler(lines)
    logger.setLevel(level)


class Pollers:
    """`run_pollers` on an event loop in a thread, as the daemon runs it, until `stop`."""

    def __init__(
        self, settings: Sequence[ImapSettings], sessions: sessionmaker[Session], base_dir: Path
    ) -> None:
        self.settings, self.sessions, self.base_dir = settings, sessions, base_dir
        self.notified: list[int] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="pollers-test")

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # pragma: no cover - reported by stop()
            self.error = error
            self.ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop_event = asyncio.Event()
        self.ready.set()
        await run_pollers(
            self.settings, self.sessions, self.stop_event, self.notified.append, self.base_dir
        )

    def start(self) -> Pollers:
        self.thread.start()
        self.ready.wait(5)
        return self

    def stop(self, timeout: float = 20) -> float:
        """Stop them; returns how long that took."""
        started = time.monotonic()
        if self.loop is not None and self.stop_event is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the pollers did not stop"
        if self.error is not None:
            raise self.error
        return time.monotonic() - started


@pytest.fixture
def pollers(tmp_path: Path) -> Iterator[Callable[..., Pollers]]:
    started: list[Pollers] = []

    def start(settings: Sequence[ImapSettings], sessions: sessionmaker[Session]) -> Pollers:
        running = Pollers(settings, sessions, tmp_path).start()
        started.append(running)
        return running

    yield start
    for running in started:
        if running.thread.is_alive():
            running.stop()


def wait_for(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> float:
    """Poll until true; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout} s: {what or condition}")


def spooled(sessions: sessionmaker[Session]) -> list[SpoolEntry]:
    return Spool(sessions).entries()
