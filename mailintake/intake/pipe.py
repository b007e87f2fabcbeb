"""`mailintake ingest`: one message from an MTA pipe or a file into the spool.

The exit code is the MTA's instruction (sysexits.h): 0 stored, 75 EX_TEMPFAIL try again later
(storage or setup trouble: the MTA keeps the mail), 65 EX_DATAERR the input is not a message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mailintake.intake.parse import NotAMessage, check_is_message
from mailintake.logs import log
from mailintake.storage.spool import Arrival, Spool

logger = logging.getLogger("mailintake.pipe")

EX_OK = 0
EX_DATAERR = 65
EX_TEMPFAIL = 75


def ingest(raw: bytes, spool_factory: Callable[[], Spool], source: str) -> tuple[int, str]:
    """Store `raw`; returns the exit code and a line for the operator."""
    try:
        check_is_message(raw)
    except NotAMessage as error:
        log(logger, "not_a_message", logging.WARNING, source=source, reason=str(error))
        return EX_DATAERR, f"not stored: {error}"
    try:
        spool_id = spool_factory().store(Arrival(raw=raw, source=source))
    except Exception as error:
        log(logger, "store_failed", logging.ERROR, source=source,
            error=f"{type(error).__name__}: {error}")  # fmt: skip
        return EX_TEMPFAIL, f"temporary failure, not stored: {type(error).__name__}: {error}"
    log(logger, "stored", spool_id=spool_id, source=source, size=len(raw))
    return EX_OK, f"stored as spool id {spool_id}"
