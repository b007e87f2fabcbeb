"""Structured logging: one line per event, as key=value pairs or JSON.

Call `log(logger, "stored", spool_id=12, message_id="<…>")`; the formatter writes the time, the
level, the logger (one per concern: mailintake.smtp, .pipeline, .spool, …), the event and its
fields. Values with spaces or quotes are quoted so a line can be split back into fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FIELDS = "mailintake_fields"


def log(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    logger.log(level, event, extra={FIELDS: fields})


def _quote(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and not any(c in text for c in ' "=\n\t\\'):
        return text
    return json.dumps(text, ensure_ascii=False)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = self.fields(record)
        return " ".join(f"{key}={_quote(value)}" for key, value in fields.items())

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        fields.update(
            (key, value) for key, value in getattr(record, FIELDS, {}).items() if value is not None
        )
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return fields


class JsonFormatter(KeyValueFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.fields(record), ensure_ascii=False, default=str)


def setup_logging(level: str = "info", style: str = "kv") -> None:
    # Our lines name their own fields; skip what the logging module would look up for every
    # record (the calling frame, thread and process), as its HOWTO suggests for hot paths.
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if style == "json" else KeyValueFormatter())
    root = logging.getLogger("mailintake")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    # aiosmtpd logs every connection at INFO; ours says what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # mail-parser warns about every part type it leaves alone; the parse result says enough.
    logging.getLogger("mailparser").setLevel(logging.ERROR)
