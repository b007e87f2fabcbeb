"""SMTP intake throughput: mailintake's durable listener against a bare aiosmtpd server.

N messages of a fixed size go over M concurrent SMTP connections (plain EHLO/MAIL/RCPT/DATA,
no pipelining, one session per connection) from an asyncio client in this process to:

(a) `bare`: aiosmtpd's SMTP class with the listener's settings (SIZE limit, SMTPUTF8) and a
    handler that answers 250 and keeps nothing, in a subprocess of its own;
(b) `mailintake`: the real `mailintake serve` as a subprocess, on a temp config and a freshly
    migrated SQLite database (WAL, synchronous=FULL), or on `--database-url` (migrated first;
    there each trial starts and ends with the worker's backlog drained). Its pipeline worker
    runs as it does for users, turning the spool into tickets while mail comes in; the report
    shows how far it got. After each run the spool rows are counted: every message that got
    250 must be there, once, or the run fails.

Both servers run in a separate process from the client, for every M in `--connections`, `--repeat`
times, alternating (a) and (b); the summary gives the median messages/s of the trials, the ratio
(b)/(a) per M (goal: >= 0.5), and the CPU seconds each side used. Only 127.0.0.1 and free ports
are used; every server started is stopped.

    .venv/bin/python bench/smtp_intake.py
    .venv/bin/python bench/smtp_intake.py --messages 4000 --size 20000 --connections 1,4,16
    .venv/bin/python bench/smtp_intake.py --database-url postgresql+psycopg://u@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from machine import (
    cpu_model,
    cpu_seconds,
    describe_database,
    free_port,
    log_tail,
    wait_for_port,
)

RECIPIENT = "support@example.nl"
SENDER = "bench@client.example"
MAX_MESSAGE_BYTES = 26_214_400  # config.example.toml's default, used by both servers
TRIAL_TIMEOUT = 600.0


# --- the bare server (a), run as `smtp_intake.py --bare-server PORT` -----------------------------


class KeepNothing:
    """Answers 250 to every message and forgets it."""

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 2.0.0 OK"


async def serve_bare(port: int, max_message_bytes: int) -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    handler = KeepNothing()

    def make() -> SMTP:
        return SMTP(
            handler,
            data_size_limit=max_message_bytes,
            enable_SMTPUTF8=True,
            ident="bare",
            loop=loop,
        )

    server = await loop.create_server(make, "127.0.0.1", port)
    await stop.wait()
    server.close()


# --- servers as subprocesses ---------------------------------------------------------------------


@contextlib.contextmanager
def running(command: Sequence[str], port: int, log: Path, cwd: Path) -> Iterator[int]:
    """Start a server, wait until it listens, yield its pid; SIGTERM it and wait at the end."""
    with log.open("ab") as out:
        process = subprocess.Popen(list(command), stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
    try:
        wait_for_port(port, process, log)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise RuntimeError(f"{command[0]} did not stop on SIGTERM; killed") from None
        if code != 0:
            raise RuntimeError(f"{' '.join(command)} exited {code}:\n{log_tail(log)}")


def mailintake_command() -> list[str]:
    script = Path(sys.executable).with_name("mailintake")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailintake.cli"]


def write_config(directory: Path, database_url: str, port: int) -> Path:
    path = directory / "config.toml"
    path.write_text(
        f'[storage]\nurl = "{database_url}"\n\n'
        f'[smtp]\nport = {port}\nrecipients = ["{RECIPIENT}"]\n'
        f"max_message_bytes = {MAX_MESSAGE_BYTES}\n\n"
        "[pipeline]\npoll_seconds = 2.0\n",
        encoding="utf-8",
    )
    return path


# --- the client ----------------------------------------------------------------------------------


class SmtpError(Exception):
    pass


async def read_reply(reader: asyncio.StreamReader, expect: int) -> bytes:
    lines = []
    while True:
        line = await reader.readline()
        if not line:
            raise SmtpError(f"connection closed, expected {expect}")
        lines.append(line)
        if line[3:4] != b"-":
            break
    if int(line[:3]) != expect:
        raise SmtpError(f"expected {expect}, got {b''.join(lines)!r}")
    return line


async def send_session(port: int, messages: Sequence[bytes]) -> list[bytes]:
    """One connection that sends its share of the messages; returns the final DATA replies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    replies = []
    try:
        await read_reply(reader, 220)
        writer.write(b"EHLO client.example\r\n")
        await read_reply(reader, 250)
        for data in messages:
            writer.write(f"MAIL FROM:<{SENDER}> SIZE={len(data)}\r\n".encode())
            await read_reply(reader, 250)
            writer.write(f"RCPT TO:<{RECIPIENT}>\r\n".encode())
            await read_reply(reader, 250)
            writer.write(b"DATA\r\n")
            await read_reply(reader, 354)
            writer.write(data)
            writer.write(b".\r\n")
            replies.append(await read_reply(reader, 250))
        writer.write(b"QUIT\r\n")
        await read_reply(reader, 221)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return replies


def make_messages(count: int, size: int, tag: str) -> list[bytes]:
    """Distinct messages of `size` bytes (CRLF lines, none starting with a dot)."""
    messages = []
    line = b"Het toestel op de receptie geeft geen kiestoon meer sinds vanochtend. " * 2
    for number in range(count):
        head = (
            f"From: Bench Client <{SENDER}>\r\nTo: {RECIPIENT}\r\n"
            f"Subject: Storing {tag} {number}\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n"
            f"Message-ID: <bench-{tag}-{number}@client.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        ).encode()
        body = bytearray()
        while len(head) + len(body) < size:
            body += line[: max(1, min(len(line), size - len(head) - len(body) - 2))] + b"\r\n"
        messages.append(head + bytes(body))
    return messages


@dataclass
class Trial:
    target: str
    connections: int
    messages: int
    seconds: float
    client_cpu: float
    server_cpu: float
    spooled: int | None = None
    worker_done: int | None = None

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


async def blast(port: int, messages: Sequence[bytes], connections: int) -> list[bytes]:
    shares = [messages[i::connections] for i in range(connections)]
    sessions = asyncio.gather(*(send_session(port, share) for share in shares if share))
    results = await asyncio.wait_for(sessions, TRIAL_TIMEOUT)
    return [reply for replies in results for reply in replies]


def measure(
    target: str, port: int, pid: int, messages: Sequence[bytes], connections: int
) -> tuple[Trial, list[bytes]]:
    server_before, client_before = cpu_seconds(pid), time.process_time()
    start = time.perf_counter()
    replies = asyncio.run(blast(port, messages, connections))
    seconds = time.perf_counter() - start
    trial = Trial(
        target,
        connections,
        len(replies),
        seconds,
        client_cpu=time.process_time() - client_before,
        server_cpu=cpu_seconds(pid) - server_before,
    )
    return trial, replies


# --- the two targets -----------------------------------------------------------------------------


def run_bare(workdir: Path, messages: Sequence[bytes], connections: int) -> Trial:
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)]
    with running(command, port, workdir / "bare.log", workdir) as pid:
        trial, _ = measure("bare", port, pid, messages, connections)
    return trial


@dataclass
class Database:
    """Where (b) stores: a fresh copy of a migrated SQLite file per trial, or a given URL."""

    url: str | None
    template: Path | None = None

    def prepare(self, workdir: Path) -> str:
        if self.url is not None:
            return self.url
        assert self.template is not None
        target = workdir / "data"
        shutil.copytree(self.template, target)
        return f"sqlite:///{target / 'mailintake.db'}"


def query(url: str, sql: str, **params: object) -> list[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params).all())
    finally:
        engine.dispose()


def last_spool_id(url: str) -> int:
    return int(query(url, "SELECT coalesce(max(id), 0) FROM spool")[0][0])


def spool_rows(url: str, after_id: int) -> tuple[int, int, dict[str, int]]:
    """(rows after `after_id`, distinct Message-IDs among them, their count per state)."""
    by_state = "SELECT state, count(*) FROM spool WHERE id > :a GROUP BY state"
    states = {str(state): int(n) for state, n in query(url, by_state, a=after_id)}
    distinct = "SELECT count(DISTINCT message_id) FROM spool WHERE id > :a"
    return sum(states.values()), int(query(url, distinct, a=after_id)[0][0]), states


def migrate(directory: Path, url: str) -> None:
    config = write_config(directory, url, free_port())
    result = subprocess.run(
        [*mailintake_command(), "--config", str(config), "init"], capture_output=True, cwd=directory
    )
    if result.returncode != 0:
        raise RuntimeError(f"mailintake init failed:\n{result.stderr.decode(errors='replace')}")


def wait_until_processed(url: str, pid: int, timeout: float = 600.0) -> None:
    """Let the daemon's worker take every spooled message, on a database the trials share."""
    deadline = time.monotonic() + timeout
    while spool_rows(url, 0)[2].get("received", 0):
        if time.monotonic() > deadline or not Path(f"/proc/{pid}").exists():
            raise RuntimeError(f"the worker left messages unprocessed after {timeout:.0f}s")
        time.sleep(0.25)


def run_mailintake(
    workdir: Path, database: Database, messages: Sequence[bytes], connections: int
) -> Trial:
    url = database.prepare(workdir)
    after_id = last_spool_id(url)
    port = free_port()
    config = write_config(workdir, url, port)
    command = [*mailintake_command(), "--config", str(config), "serve"]
    shared = database.url is not None
    with running(command, port, workdir / "serve.log", workdir) as pid:
        if shared:
            # Start with no backlog, as a fresh SQLite file does.
            wait_until_processed(url, pid)
        trial, replies = measure("mailintake", port, pid, messages, connections)
        # What the worker had turned into tickets by the time the last 250 came back.
        _, _, states = spool_rows(url, after_id)
        if shared:
            # Leave no backlog to compete with the next trial.
            wait_until_processed(url, pid)
    rows, distinct, _ = spool_rows(url, after_id)
    trial.spooled = rows
    trial.worker_done = sum(n for state, n in states.items() if state != "received")
    accepted = sum(1 for reply in replies if b"spool id" in reply)
    if not (rows == distinct == accepted == len(messages)):
        raise RuntimeError(
            f"mail lost or doubled: sent {len(messages)}, answered 250 with a spool id "
            f"{accepted}, spooled {rows} rows with {distinct} distinct Message-IDs"
        )
    return trial


# --- main ----------------------------------------------------------------------------------------


def connection_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("give positive numbers, e.g. 1,16")
    return counts


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=800, help="messages per trial (N)")
    parser.add_argument("--size", type=int, default=4096, help="bytes per message")
    parser.add_argument(
        "--connections", type=connection_counts, default=[1, 16], help="M values, e.g. 1,16"
    )
    parser.add_argument("--repeat", type=int, default=3, help="trials per M; the median counts")
    parser.add_argument(
        "--database-url", help="run (b) on this database (migrated first) instead of temp SQLite"
    )
    parser.add_argument("--workdir", type=Path, help="parent folder for temp files and SQLite")
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def busy(cpu: float, seconds: float) -> str:
    return f"{cpu / seconds:.0%}"


def summary(trials: list[Trial], counts: list[int]) -> list[str]:
    lines = [
        f"{'M':>3}  {'bare msg/s':>10}  {'mailintake msg/s':>16}  {'ratio':>5}  "
        f"{'bare CPU':>8}  {'mailintake CPU':>14}  {'client CPU':>10}  {'worker done':>11}"
    ]
    for m in counts:
        bare = [t for t in trials if t.target == "bare" and t.connections == m]
        ours = [t for t in trials if t.target == "mailintake" and t.connections == m]
        a, b = (statistics.median(t.rate for t in ts) for ts in (bare, ours))
        a_cpu = statistics.median(t.server_cpu / t.seconds for t in bare)
        b_cpu = statistics.median(t.server_cpu / t.seconds for t in ours)
        c_cpu = statistics.median(t.client_cpu / t.seconds for t in bare + ours)
        done = statistics.median((t.worker_done or 0) / t.messages for t in ours)
        lines.append(
            f"{m:>3}  {a:>10.0f}  {b:>16.0f}  {b / a:>5.2f}  {a_cpu:>8.0%}  {b_cpu:>14.0%}  "
            f"{c_cpu:>10.0%}  {done:>11.0%}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.bare_server is not None:
        asyncio.run(serve_bare(args.bare_server, MAX_MESSAGE_BYTES))
        return 0

    import aiosmtpd

    print(
        f"N={args.messages} messages of {args.size} bytes per trial; "
        f"M={','.join(map(str, args.connections))}; {args.repeat} trial(s) per M and target, "
        f"median counts"
    )
    print(
        f"{os.cpu_count()} CPU cores ({cpu_model()}); Python {sys.version.split()[0]}; "
        f"aiosmtpd {aiosmtpd.__version__}; client: asyncio, no pipelining, in this process"
    )
    print(f"(b) stores in: {describe_database(args.database_url)}")
    root = Path(tempfile.mkdtemp(prefix="mailintake-bench-", dir=args.workdir))
    run = uuid.uuid4().hex[:8]  # Message-IDs unique across runs on a shared database
    trials: list[Trial] = []
    try:
        database = Database(args.database_url)
        if args.database_url is None:
            template = root / "template"
            template.mkdir()
            migrate(template, f"sqlite:///{template / 'data' / 'mailintake.db'}")
            database.template = template / "data"
        else:
            migrate(root, args.database_url)
        number = 0
        for m in args.connections:
            for trial_number in range(args.repeat):
                for target in ("bare", "mailintake"):
                    number += 1
                    workdir = root / f"{number:03d}-{target}-m{m}"
                    workdir.mkdir()
                    messages = make_messages(args.messages, args.size, f"{run}-{number}")
                    if target == "bare":
                        trial = run_bare(workdir, messages, m)
                    else:
                        trial = run_mailintake(workdir, database, messages, m)
                    trials.append(trial)
                    extra = (
                        f"; spooled {trial.spooled}/{trial.messages}, "
                        f"worker done {trial.worker_done}"
                        if trial.spooled is not None
                        else ""
                    )
                    print(
                        f"  M={m:<3} trial {trial_number + 1} {target:<10} "
                        f"{trial.rate:7.0f} msg/s  ({trial.seconds:.2f} s; server CPU "
                        f"{trial.server_cpu:.2f} s, client CPU {trial.client_cpu:.2f} s{extra})",
                        flush=True,
                    )
                    shutil.rmtree(workdir / "data", ignore_errors=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print("\n".join(summary(trials, args.connections)))
    print(
        "ratio = mailintake/bare, medians (goal >= 0.5). CPU = process CPU time / trial time "
        "(100% = one core busy; the client is this process). worker done = share of the "
        "trial's messages that serve's pipeline worker had made into tickets when the last "
        "250 came back."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
