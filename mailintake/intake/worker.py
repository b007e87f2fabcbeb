"""The pipeline worker: takes spooled messages in order of arrival, one transaction each.

`process_one` parses outside any transaction, then claims the spool row (it must still be
`received`), runs the pipeline and commits. A message that raises is marked failed with its
error and the worker goes on; a database that is away makes `run` back off and log the outage
once, not once per try.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.parse import parse
from mailintake.intake.pipeline import Outcome, judge_mail, judge_sender, process
from mailintake.logs import log
from mailintake.storage.database import transaction
from mailintake.storage.models import SpoolMessage, SpoolState
from mailintake.storage.spool import Spool, Waiting

logger = logging.getLogger("mailintake.pipeline")


@dataclass(frozen=True)
class Failure:
    spool_id: int
    error: str


@dataclass
class DrainReport:
    created: int = 0
    replies: int = 0
    duplicates: int = 0
    failures: list[Failure] = field(default_factory=list)

    def add(self, result: Outcome | Failure) -> None:
        if isinstance(result, Failure):
            self.failures.append(result)
        elif result.duplicate_of is not None:
            self.duplicates += 1
        elif result.created:
            self.created += 1
        else:
            self.replies += 1

    @property
    def total(self) -> int:
        return self.created + self.replies + self.duplicates + len(self.failures)


def describe(error: BaseException) -> str:
    """The error and where it was raised, short enough for a list, enough to find the bug."""
    frames = traceback.extract_tb(error.__traceback__)
    where = f" (at {frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno})" if frames else ""
    return f"{type(error).__name__}: {error}{where}"[:2000]


class Worker:
    def __init__(self, sessions: sessionmaker[Session], desk: Desk) -> None:
        self.sessions = sessions
        self.spool = Spool(sessions)
        self.desk = desk

    def process_one(self) -> Outcome | Failure | None:
        """Process the oldest waiting message; None when there is none."""
        while (waiting := self.spool.next_received()) is not None:
            spool_id = waiting.id
            try:
                try:
                    result = self._process(waiting)
                except IntegrityError:
                    # Another worker stored the same message first; a rerun sees the duplicate.
                    result = self._process(waiting)
            except Exception as error:
                message = describe(error)
                self.spool.mark_failed(spool_id, message)
                log(logger, "failed", logging.ERROR, spool_id=spool_id, error=message)
                return Failure(spool_id, message)
            if result is not None:
                return result
        return None

    def _process(self, waiting: Waiting) -> Outcome | None:
        """None when another worker claimed the message first.

        Parsing and classifying need no database, so they run before the write transaction
        begins: the SMTP listener waits for that transaction's lock, not for the rules.
        """
        parsed = parse(waiting.raw)
        classification = judge_mail(parsed.mail, waiting.received_at, self.desk)
        verdict = judge_sender(parsed.mail, waiting.raw, waiting.envelope_to, self.desk)
        with transaction(self.sessions) as session:
            row = session.get(SpoolMessage, waiting.id, with_for_update=True)
            if row is None or row.state != SpoolState.RECEIVED:
                return None
            return process(session, row, parsed, self.desk, classification, verdict)

    def drain(self) -> DrainReport:
        report = DrainReport()
        while (result := self.process_one()) is not None:
            report.add(result)
        return report

    async def run(
        self,
        stop: asyncio.Event,
        wake: asyncio.Event,
        poll_seconds: float,
        intake: IntakeActivity | None = None,
    ) -> None:
        """Process until `stop` is set; the message in hand is always finished.

        With `intake` (the SMTP listener's writer), the worker lets a burst of arriving mail
        commit first: it waits until intake has been quiet for `INTAKE_QUIET_SECONDS`, but
        never longer than `INTAKE_MAX_WAIT_SECONDS`, so tickets still get made under a steady
        stream. Accepting mail fast is what keeps senders from timing out and retrying.
        """
        backoff, outage = 1.0, False
        while not stop.is_set():
            if intake is not None:
                await _let_intake_go_first(intake)
            wake.clear()
            try:
                result = await asyncio.to_thread(self.process_one)
            except Exception as error:
                if not outage:
                    log(logger, "storage_unavailable", logging.ERROR, error=describe(error))
                outage = True
                await _wait_any(stop, None, backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            if outage:
                log(logger, "storage_back")
            backoff, outage = 1.0, False
            if result is None:
                await _wait_any(stop, wake, poll_seconds)


INTAKE_QUIET_SECONDS = 0.05
INTAKE_MAX_WAIT_SECONDS = 1.0


class IntakeActivity(Protocol):
    def quiet_for(self) -> float: ...


async def _let_intake_go_first(intake: IntakeActivity) -> None:
    waited = 0.0
    while (quiet := intake.quiet_for()) < INTAKE_QUIET_SECONDS and waited < INTAKE_MAX_WAIT_SECONDS:
        pause = max(INTAKE_QUIET_SECONDS - quiet, 0.005)
        await asyncio.sleep(pause)
        waited += pause


async def _wait_any(stop: asyncio.Event, wake: asyncio.Event | None, timeout: float) -> None:
    waiters = {asyncio.create_task(stop.wait())}
    if wake is not None:
        waiters.add(asyncio.create_task(wake.wait()))
    _done, pending = await asyncio.wait(
        waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
