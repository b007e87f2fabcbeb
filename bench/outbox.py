"""Outbox delivery throughput: mailintake's `deliver_due` against a bare smtplib loop, in one run.

N notices are composed the way the desk composes them (untimed): per new ticket an
acknowledgement to the customer (threaded on the customer's mail, Dutch or English, the four
sample variants of `notifier.samples`) and a dispatch to the engineers (new ticket / category
change), each rendered from the sample contexts with its own ticket ref through the package
templates (text + HTML, quoted-printable). Later trials send the same bytes under fresh
Message-IDs. In each trial both targets send exactly the same bytes, one recipient each, to a
sink on 127.0.0.1:

(a) `bare`: one `smtplib.SMTP` connection, `sendmail(from, recipients, raw)` per message,
    QUIT at the end. No database.
(b) `outbox`: every notice `enqueue`d (untimed, one transaction) into a freshly migrated SQLite
    database (WAL, synchronous=FULL) in a temp folder, or into `--database-url` (migrated
    first; it must have no pending outbox rows). Timed: `deliver_due(sessions, outbound,
    settings, now=utcnow())` called again and again, as the daemon's job does, until a run
    finds nothing due. Per message it pays a claim (UPDATE + SELECT of the row, one commit), the
    SMTP transaction and a mark-sent (UPDATE, one commit); per run a SELECT of due ids and a new
    SMTP session (connect, EHLO, QUIT) for up to `batch_size` (100) messages. Its "sent" log
    line is formatted as the daemon does (key=value, level info) and written to /dev/null.

The sink is aiosmtpd in a subprocess of its own (no GIL shared with the sender), started fresh
for each trial; it answers 250 to everything and keeps only each message's Message-ID, the
SHA-256 of its bytes and the number of SMTP sessions, which it hands back when stopped. After
each trial every notice must have arrived exactly once with its bytes unchanged, and for (b)
every outbox row must be `sent`, or the script exits 1.

Trials alternate (a) and (b), `--repeat` times each; the summary gives the median notices/s, the
ratio outbox/bare, the CPU each process used and what the outbox did per message (SQL
statements, on SQLite including its BEGIN IMMEDIATE; commits). Only 127.0.0.1 and free ports
are used; every process started is stopped and the temp folder removed.

    .venv/bin/python bench/outbox.py
    .venv/bin/python bench/outbox.py --messages 4000 --repeat 5
    .venv/bin/python bench/outbox.py --database-url postgresql+psycopg://u@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from machine import cpu_model, cpu_seconds, describe_database, free_port, wait_for_port
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import OutboundSettings
from mailintake.logs import setup_logging
from mailintake.notifier import samples
from mailintake.notifier.compose import ComposedMessage, Mailbox, Parent, Purpose, compose
from mailintake.notifier.delivery import Outage, deliver_due
from mailintake.notifier.outbox import enqueue
from mailintake.notifier.settings import DeliverySettings
from mailintake.notifier.templates import Templates
from mailintake.storage.database import make_engine, make_sessionmaker, migrate, transaction
from mailintake.storage.models import OutboxMessage, OutboxState, utcnow

ZONE = ZoneInfo("Europe/Amsterdam")
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


# --- the sink, run as `outbox.py --sink PORT FILE` -----------------------------------------------


class Sink:
    """Answers 250 to every message; remembers its Message-ID and a hash of its bytes."""

    def __init__(self) -> None:
        self.received: list[tuple[str, str]] = []
        self.sessions = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or b""
        head = data.split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        message_id = found.group(1).decode("ascii", "replace") if found else ""
        self.received.append((message_id, hashlib.sha256(data).hexdigest()))
        return "250 2.0.0 OK"


async def serve_sink(port: int, record: Path) -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    sink = Sink()
    server = await loop.create_server(
        lambda: SMTP(sink, enable_SMTPUTF8=True, ident="sink", loop=loop), "127.0.0.1", port
    )
    await stop.wait()
    server.close()
    record.write_text(json.dumps({"sessions": sink.sessions, "received": sink.received}))


# --- processes -----------------------------------------------------------------------------------


@dataclass
class SinkRecord:
    sessions: int = 0
    received: list[tuple[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def sink_running(workdir: Path, record: SinkRecord) -> Iterator[tuple[int, int]]:
    """Start a sink, yield (port, pid); at the end stop it and fill `record` with what it got."""
    port = free_port()
    result = workdir / "sink.json"
    command = [sys.executable, str(Path(__file__).resolve()), "--sink", str(port), str(result)]
    with (workdir / "sink.log").open("ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    try:
        wait_for_port(port, process)
        yield port, process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError("the sink did not stop on SIGTERM; killed") from None
        if code != 0:
            tail = (workdir / "sink.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the sink exited {code}:\n{tail}")
    data = json.loads(result.read_text())
    record.sessions = int(data["sessions"])
    record.received = [(str(mid), str(digest)) for mid, digest in data["received"]]


# --- the notices ---------------------------------------------------------------------------------


def make_notices(count: int, first_ticket: int) -> list[ComposedMessage]:
    """`count` ComposedMessages: acknowledgement and dispatch in turn, one pair per ticket."""
    templates = Templates(None, zone=ZONE, default_language="nl")
    acks = samples.SAMPLES["acknowledgement"]
    dispatches = samples.SAMPLES["dispatch"]
    desk = Mailbox("support@example.nl", "CNE Servicedesk")
    customer = Mailbox("jan@bakkerij-jansen.nl", "Jan de Vries")
    engineers = Mailbox("engineers@example.nl")
    now = utcnow()
    messages = []
    for number in range(count):
        ticket = first_ticket + number // 2
        ref = f"T-2026-{ticket:06d}"
        if number % 2 == 0:
            context = acks[(number // 2) % len(acks)]
            language = "en" if (number // 2) % 5 == 4 else "nl"
            purpose, to = Purpose.ACKNOWLEDGEMENT, customer
            parent: Parent | None = Parent(
                f"<{ticket}.report@bakkerij-jansen.nl>", (f"<{ticket}.first@example.net>",)
            )
        else:
            context = dispatches[(number // 2) % len(dispatches)]
            language, purpose, to, parent = "nl", Purpose.DISPATCH, engineers, None
        context = type(context)(**{**context.variables(), "ref": ref})
        rendered = templates.render(context, language)
        messages.append(
            compose(
                rendered,
                purpose=purpose,
                sender=desk,
                to=[to],
                now=now,
                ref=ref,
                parent=parent,
                zone=ZONE,
            )
        )
    return messages


def fresh_ids(notices: Sequence[ComposedMessage]) -> list[ComposedMessage]:
    """The same notices under new Message-IDs (same length), for a trial of their own."""
    renamed = []
    for notice in notices:
        left, _, domain = notice.message_id[1:-1].rpartition("@")
        stem, _, token = left.rpartition(".")
        message_id = f"<{stem}.{secrets.token_hex(len(token) // 2)}@{domain}>"
        old = f"Message-ID: {notice.message_id}\r\n".encode()
        if notice.raw.count(old) != 1:
            raise RuntimeError(f"no single Message-ID header in {notice.message_id}")
        raw = notice.raw.replace(old, f"Message-ID: {message_id}\r\n".encode())
        renamed.append(dataclasses.replace(notice, message_id=message_id, raw=raw))
    return renamed


# --- trials --------------------------------------------------------------------------------------


@dataclass
class Trial:
    target: str
    messages: int
    seconds: float
    cpu: float
    sink_cpu: float
    sessions: int
    runs: int = 0
    statements: int = 0
    commits: int = 0

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def verify(target: str, notices: Sequence[ComposedMessage], record: SinkRecord) -> None:
    """Every notice arrived exactly once, byte for byte, and nothing else did."""
    expected = {n.message_id: hashlib.sha256(n.raw).hexdigest() for n in notices}
    counts = Counter(mid for mid, _ in record.received)
    missing = [mid for mid in expected if counts[mid] == 0]
    doubled = [mid for mid, n in counts.items() if n > 1]
    unknown = [mid for mid in counts if mid not in expected]
    changed = [mid for mid, digest in record.received if expected.get(mid, digest) != digest]
    if missing or doubled or unknown or changed:
        raise RuntimeError(
            f"{target}: sent {len(expected)}, sink got {len(record.received)}: "
            f"{len(missing)} missing, {len(doubled)} more than once, {len(unknown)} unknown, "
            f"{len(changed)} with other bytes (e.g. {(missing + doubled + unknown + changed)[:3]})"
        )


def run_bare(workdir: Path, notices: Sequence[ComposedMessage], sender: str) -> Trial:
    record = SinkRecord()
    with sink_running(workdir, record) as (port, pid):
        sink_before, cpu_before = cpu_seconds(pid), time.process_time()
        start = time.perf_counter()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            for notice in notices:
                refused = client.sendmail(sender, list(notice.recipients), notice.raw)
                if refused:
                    raise RuntimeError(f"bare: the sink refused {refused}")
        seconds = time.perf_counter() - start
        trial = Trial(
            "bare",
            len(notices),
            seconds,
            cpu=time.process_time() - cpu_before,
            sink_cpu=cpu_seconds(pid) - sink_before,
            sessions=0,
        )
    trial.sessions = record.sessions
    verify("bare", notices, record)
    return trial


@dataclass
class Database:
    """A fresh migrated SQLite file per trial, or the given URL (migrated once)."""

    url: str | None

    def prepare(self, workdir: Path) -> Engine:
        url = self.url or f"sqlite:///{workdir / 'mailintake.db'}"
        engine = make_engine(url)
        if self.url is None:
            migrate(engine)
        return engine


def outbox_states(sessions: sessionmaker[Session], message_ids: Sequence[str]) -> Counter[str]:
    states: Counter[str] = Counter()
    with transaction(sessions, write=False) as session:
        for start in range(0, len(message_ids), 500):
            chunk = message_ids[start : start + 500]
            query = select(OutboxMessage.state).where(OutboxMessage.message_id.in_(chunk))
            states.update(str(state) for state in session.scalars(query))
    return states


def pending_rows(sessions: sessionmaker[Session]) -> int:
    with transaction(sessions, write=False) as session:
        query = select(func.count()).where(OutboxMessage.state == OutboxState.PENDING)
        return int(session.scalar(query) or 0)


def run_outbox(
    workdir: Path, database: Database, notices: Sequence[ComposedMessage], outbound_from: str
) -> Trial:
    engine = database.prepare(workdir)
    sessions = make_sessionmaker(engine)
    try:
        if pending_rows(sessions):
            raise RuntimeError("the database has pending outbox rows; give an empty outbox")
        queued_at = utcnow() - timedelta(seconds=1)
        with transaction(sessions) as session:
            for notice in notices:
                enqueue(
                    session,
                    ticket_id=None,
                    event_id=None,
                    purpose=notice.purpose,
                    message=notice,
                    now=queued_at,
                )
        settings = DeliverySettings()
        counts = {"statements": 0, "commits": 0}

        def on_statement(*_: object) -> None:
            counts["statements"] += 1

        def on_commit(*_: object) -> None:
            counts["commits"] += 1

        event.listen(engine, "before_cursor_execute", on_statement)
        event.listen(engine, "commit", on_commit)
        record = SinkRecord()
        outage = Outage()
        runs = 0
        with sink_running(workdir, record) as (port, pid):
            outbound = OutboundSettings(host="127.0.0.1", port=port, from_address=outbound_from)
            sink_before, cpu_before = cpu_seconds(pid), time.process_time()
            start = time.perf_counter()
            while True:
                report = deliver_due(sessions, outbound, settings, utcnow(), outage=outage)
                runs += 1
                if report.retrying or report.failed or report.server_down or report.skipped:
                    raise RuntimeError(f"outbox: a run did not just send: {report}")
                if not report.sent:
                    break
            seconds = time.perf_counter() - start
            trial = Trial(
                "outbox",
                len(notices),
                seconds,
                cpu=time.process_time() - cpu_before,
                sink_cpu=cpu_seconds(pid) - sink_before,
                sessions=0,
                runs=runs,
            )
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)
        trial.statements, trial.commits = counts["statements"], counts["commits"]
        trial.sessions = record.sessions
        verify("outbox", notices, record)
        states = outbox_states(sessions, [n.message_id for n in notices])
        if states != Counter({OutboxState.SENT.value: len(notices)}):
            raise RuntimeError(f"outbox: rows by state after the trial: {dict(states)}")
    finally:
        engine.dispose()
    return trial


# --- main ----------------------------------------------------------------------------------------


def quiet_daemon_logging() -> TextIO:
    """Log as `mailintake serve` does (key=value at info), but into /dev/null."""
    setup_logging("info", "kv")
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed at the end of main
    for handler in logging.getLogger("mailintake").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    return devnull


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("give a positive number")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=positive, default=2000, help="notices per trial (N)")
    parser.add_argument("--repeat", type=positive, default=3, help="trials per target; median")
    parser.add_argument(
        "--database-url", help="outbox on this database (migrated first) instead of temp SQLite"
    )
    parser.add_argument("--workdir", type=Path, help="parent folder for temp files and SQLite")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def summary(trials: list[Trial]) -> list[str]:
    bare = [t for t in trials if t.target == "bare"]
    ours = [t for t in trials if t.target == "outbox"]
    a, b = (statistics.median(t.rate for t in ts) for ts in (bare, ours))

    def busy(ts: list[Trial], cpu: str) -> str:
        return f"{statistics.median(getattr(t, cpu) / t.seconds for t in ts):.0%}"

    n = ours[0].messages
    lines = [
        f"{'target':<7} {'notices/s':>9}  {'ms/notice':>9}  {'sender CPU':>10}  "
        f"{'sink CPU':>8}  {'SMTP sessions':>13}",
        f"{'bare':<7} {a:>9.0f}  {1000 / a:>9.3f}  {busy(bare, 'cpu'):>10}  "
        f"{busy(bare, 'sink_cpu'):>8}  {bare[0].sessions:>13}",
        f"{'outbox':<7} {b:>9.0f}  {1000 / b:>9.3f}  {busy(ours, 'cpu'):>10}  "
        f"{busy(ours, 'sink_cpu'):>8}  {ours[0].sessions:>13}",
        f"ratio outbox/bare = {b / a:.2f} (medians); the outbox costs "
        f"{1000 / b - 1000 / a:.3f} ms more per notice",
        f"outbox per notice: {ours[0].statements / n:.2f} SQL statements (on SQLite incl. BEGIN), "
        f"{ours[0].commits / n:.2f} commits; {ours[0].runs} deliver_due runs for {n} notices",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sink is not None:
        asyncio.run(serve_sink(int(args.sink[0]), Path(args.sink[1])))
        return 0

    import aiosmtpd

    devnull = quiet_daemon_logging()
    root = Path(tempfile.mkdtemp(prefix="mailintake-bench-outbox-", dir=args.workdir))
    trials: list[Trial] = []
    try:
        prepared = time.perf_counter()
        base = make_notices(args.messages, 1)
        all_notices = [base, *(fresh_ids(base) for _ in range(args.repeat - 1))]
        prepared = time.perf_counter() - prepared
        sizes = [len(n.raw) for notices in all_notices for n in notices]
        print(
            f"N={args.messages} notices per trial (acknowledgement + dispatch per ticket, "
            f"1 recipient each); size {statistics.median(sizes):.0f} bytes median "
            f"({min(sizes)}-{max(sizes)}); composed in {prepared:.1f} s, untimed; "
            f"{args.repeat} trial(s) per target, median counts"
        )
        print(
            f"{os.cpu_count()} CPU cores ({cpu_model()}); Python {sys.version.split()[0]}; "
            f"aiosmtpd {aiosmtpd.__version__} sink in its own process; sender in this process"
        )
        print(
            f"outbox stores in: {describe_database(args.database_url)}; "
            f"batch_size={DeliverySettings().batch_size}"
        )
        database = Database(args.database_url)
        if args.database_url is not None:
            engine = make_engine(args.database_url)
            try:
                migrate(engine)
            finally:
                engine.dispose()
        sender = "support@example.nl"
        number = 0
        for trial_number, notices in enumerate(all_notices, start=1):
            for target in ("bare", "outbox"):
                number += 1
                workdir = root / f"{number:03d}-{target}"
                workdir.mkdir()
                if target == "bare":
                    trial = run_bare(workdir, notices, sender)
                else:
                    trial = run_outbox(workdir, database, notices, sender)
                trials.append(trial)
                extra = (
                    f"; {trial.runs} runs, {trial.commits} commits" if target == "outbox" else ""
                )
                print(
                    f"  trial {trial_number} {target:<6} {trial.rate:7.0f} notices/s  "
                    f"({trial.seconds:.2f} s; sender CPU {trial.cpu:.2f} s, sink CPU "
                    f"{trial.sink_cpu:.2f} s, {trial.sessions} SMTP sessions{extra}; "
                    f"all {trial.messages} arrived once, bytes unchanged)",
                    flush=True,
                )
                shutil.rmtree(workdir, ignore_errors=True)
    except RuntimeError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(root, ignore_errors=True)
        devnull.close()
    print()
    print("\n".join(summary(trials)))
    print(
        "CPU = process CPU time / trial time (100% = one core busy). The sender is this process: "
        "smtplib for bare; deliver_due, SQLAlchemy and the database driver for the outbox."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
