"""`mailintake serve`: the SMTP listener, the IMAP pollers, the pipeline worker and the
scheduled jobs in one asyncio process.

SIGTERM (or SIGINT) stops accepting, lets every message already being committed finish and be
answered, finishes the message the worker has in hand, and exits 0. SIGHUP, and an edit of the
rules file seen by the watcher, reload the rules: a valid file replaces them (an event records
its sha256), a bad one is logged and the previous rules stay active.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import Config
from mailintake.intake.desk import Desk, DeskSetupError, reload_rules
from mailintake.intake.imap import run_pollers
from mailintake.intake.maintenance import send_due
from mailintake.intake.sla_warnings import warn_due_clocks
from mailintake.intake.smtp import IntakeHandler, SpoolWriter, smtp_factory
from mailintake.intake.worker import Worker
from mailintake.logs import log
from mailintake.notifier import Outage, deliver_due
from mailintake.storage.database import make_engine, make_sessionmaker, transaction
from mailintake.storage.models import Event, utcnow
from mailintake.storage.spool import Spool

logger = logging.getLogger("mailintake.daemon")

SHUTDOWN_GRACE_SECONDS = 10.0


class ListenError(Exception):
    """The SMTP listener could not bind its address."""


def record_rules(sessions: sessionmaker[Session], desk: Desk, trigger: str) -> None:
    """A desk event naming the rules now active, so each ticket's rules_hash can be traced."""
    rules = desk.rules
    with transaction(sessions) as session:
        session.add(
            Event(
                ticket=None,
                type="rules_loaded" if trigger == "start" else "rules_reloaded",
                at=utcnow(),
                data={"path": rules.source, "sha256": rules.sha256, "trigger": trigger,
                      "rules": len(rules.rules)},
            )
        )  # fmt: skip
    log(logger, "rules_active", path=rules.source, sha256=rules.sha256, trigger=trigger)


def try_reload(sessions: sessionmaker[Session], desk: Desk, trigger: str) -> None:
    try:
        changed = reload_rules(desk)
    except DeskSetupError as error:
        log(logger, "rules_rejected", logging.ERROR, trigger=trigger, kept=desk.rules.sha256,
            problems=str(error))  # fmt: skip
        return
    if changed:
        record_rules(sessions, desk, trigger)
    elif trigger == "SIGHUP":
        log(logger, "rules_unchanged", sha256=desk.rules.sha256)


async def watch_rules(
    sessions: sessionmaker[Session], desk: Desk, stop: asyncio.Event, seconds: float
) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), timeout=seconds)
        except TimeoutError:
            await asyncio.to_thread(try_reload, sessions, desk, "file changed")


def start_scheduler(
    config: Config, sessions: sessionmaker[Session], desk: Desk
) -> AsyncIOScheduler:
    """The periodic jobs: thin calls of tested functions, idempotent, run at start too so
    that what fell due while the daemon was down is done at once."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    outage = Outage()

    async def deliver() -> None:
        await guarded("deliver", deliver_due, sessions, config.outbound,
                      config.notifier.delivery, utcnow(), outage=outage)  # fmt: skip

    async def warn() -> None:
        await guarded("sla_warnings", warn_due_clocks, sessions, desk, utcnow())

    async def notices() -> None:
        await guarded("maintenance", send_due, sessions, desk, utcnow())

    jobs = [(warn, config.schedule.sla_warnings_seconds)]
    jobs.append((notices, config.schedule.maintenance_seconds))
    if config.outbound.enabled:
        jobs.append((deliver, config.schedule.delivery_seconds))
    for job, seconds in jobs:
        scheduler.add_job(job, "interval", seconds=seconds, next_run_time=datetime.now(UTC),
                          max_instances=1, coalesce=True, id=job.__name__)  # fmt: skip
    scheduler.start()
    return scheduler


async def guarded(name: str, function: Callable[..., object], *args: Any, **kwargs: Any) -> None:
    """Run a job in a thread; an error is logged with the job's name and the next run retries."""
    try:
        await asyncio.to_thread(function, *args, **kwargs)
    except Exception as error:
        log(logger, "job_failed", logging.ERROR, job=name,
            error=f"{type(error).__name__}: {error}")  # fmt: skip


async def serve(config: Config, desk: Desk) -> int:
    engine = make_engine(config.database_url)
    sessions = make_sessionmaker(engine)
    loop = asyncio.get_running_loop()
    stop, wake = asyncio.Event(), asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(
        signal.SIGHUP,
        lambda: loop.create_task(asyncio.to_thread(try_reload, sessions, desk, "SIGHUP")),
    )
    await asyncio.to_thread(record_rules, sessions, desk, "start")

    handler: IntakeHandler | None = None
    server: asyncio.Server | None = None
    writer: SpoolWriter | None = None
    if config.smtp.enabled:
        writer = SpoolWriter(Spool(sessions))
        handler = IntakeHandler(
            recipients=config.smtp.recipients, writer=writer, on_stored=lambda _id: wake.set()
        )
        factory = smtp_factory(config.smtp, handler, config.base_dir)
        try:
            server = await loop.create_server(factory, config.smtp.host, config.smtp.port)
        except OSError as error:
            engine.dispose()
            raise ListenError(
                f"cannot listen on {config.smtp.host}:{config.smtp.port}: {error.strerror}"
            ) from None
        log(logger, "listening", host=config.smtp.host, port=config.smtp.port,
            recipients=",".join(config.smtp.recipients))  # fmt: skip

    worker = Worker(sessions, desk)
    tasks = [
        asyncio.create_task(worker.run(stop, wake, config.pipeline.poll_seconds, intake=writer))
    ]
    if config.imap:
        # Each mailbox in a thread of its own; stored mail wakes the worker as SMTP mail does.
        pollers = run_pollers(config.imap, sessions, stop, lambda _id: wake.set(), config.base_dir)
        tasks.append(asyncio.create_task(pollers))
    scheduler = start_scheduler(config, sessions, desk)
    if config.rules.watch_seconds:
        tasks.append(
            asyncio.create_task(watch_rules(sessions, desk, stop, config.rules.watch_seconds))
        )
    log(logger, "started", database=engine.url.render_as_string(hide_password=True))

    await stop.wait()
    log(logger, "stopping")
    if server is not None and handler is not None:
        server.close()
        handler.closing = True
        await _finish_sessions(handler)
    scheduler.shutdown(wait=False)
    await asyncio.gather(*tasks)
    engine.dispose()
    log(logger, "stopped")
    return 0


async def _finish_sessions(handler: IntakeHandler) -> None:
    """Let commits in progress finish and their 250 go out, then hang up on everyone else."""
    await handler.writer.idle()
    deadline = asyncio.get_running_loop().time() + SHUTDOWN_GRACE_SECONDS
    while handler.in_data and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)
    for connection in list(handler.connections):
        if connection.transport is not None:
            connection.transport.close()
