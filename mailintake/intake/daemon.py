"""`mailintake serve`: the SMTP listener and the pipeline worker in one asyncio process.

SIGTERM (or SIGINT) stops accepting, lets every message already being committed finish and be
answered, finishes the message the worker has in hand, and exits 0. SIGHUP is caught so that a
reload request never kills the daemon.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from mailintake.config import Config
from mailintake.intake.pipeline import PipelineContext
from mailintake.intake.smtp import IntakeHandler, SpoolWriter, smtp_factory
from mailintake.intake.worker import Worker
from mailintake.logs import log
from mailintake.storage.database import make_engine, make_sessionmaker
from mailintake.storage.spool import Spool

logger = logging.getLogger("mailintake.daemon")

SHUTDOWN_GRACE_SECONDS = 10.0


class ListenError(Exception):
    """The SMTP listener could not bind its address."""


async def serve(config: Config) -> int:
    engine = make_engine(config.database_url)
    sessions = make_sessionmaker(engine)
    loop = asyncio.get_running_loop()
    stop, wake = asyncio.Event(), asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(
        signal.SIGHUP, lambda: log(logger, "reload_requested", note="nothing to reload yet")
    )

    handler: IntakeHandler | None = None
    server: asyncio.Server | None = None
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

    worker = Worker(sessions, PipelineContext(zone=config.desk.zone))
    worker_task = asyncio.create_task(worker.run(stop, wake, config.pipeline.poll_seconds))
    log(logger, "started", database=engine.url.render_as_string(hide_password=True))

    await stop.wait()
    log(logger, "stopping")
    if server is not None and handler is not None:
        server.close()
        handler.closing = True
        await _finish_sessions(handler)
    await worker_task
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
