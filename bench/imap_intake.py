"""IMAP intake throughput: mailintake's poller against a bare imapclient loop, in the same run.

N messages of a fixed size are delivered into a throwaway Dovecot on 127.0.0.1 (started here the
way the tests start it: Maildir in a temp folder, a passwd-file user). Then, `--repeat` times,
in turn:

(a) `bare`: an imapclient loop that logs in, selects the folder read-only, searches, and fetches
    every message's bytes (BODY.PEEK[]) in batches of B, keeping nothing, with imaplib's protocol
    trace off as the poller has it (`without_protocol_trace`);
(a') `bare-shipped`: the same loop with imapclient as it comes, whose trace formats every
    response, each message's bytes included, into a string nobody reads;
(b) `mailintake`: the poller as `serve` runs it (`run_pollers`: a thread per mailbox, on an
    asyncio loop) into a freshly migrated SQLite database (WAL, synchronous=FULL): per batch of
    B the messages and their INTERNALDATE are fetched, committed to the spool, flagged \\Seen,
    and the checkpoint kept; log lines go to a file, as serve's go to its log. Timed from the
    start until the commit of the last message has returned. Afterwards the spool must hold N
    rows with N distinct Message-IDs, or the run fails.

All go by UID, so the \\Seen flags (b) leaves do not change what the next trial fetches. The
summary gives the median seconds and messages/s of each, the ratios of the medians, loop time /
mailintake time (= mailintake's throughput as a share of the loop's; goal >= 0.7), and the CPU
time this process used (the client side: imapclient's parsing, for (b) the spool and log too).

    .venv/bin/python bench/imap_intake.py
    .venv/bin/python bench/imap_intake.py --messages 2000 --size 20000 --batch 200 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from machine import cpu_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support.dovecot, the tests' throwaway Dovecot


@dataclass
class Trial:
    target: str
    messages: int
    seconds: float
    cpu: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def make_messages(count: int, size: int, tag: str) -> list[bytes]:
    """Distinct plain-text messages of about `size` bytes, CRLF line ends."""
    line = b"Het toestel op de receptie geeft geen kiestoon meer sinds vanochtend. " * 2 + b"\r\n"
    messages = []
    for number in range(count):
        head = (
            f"From: Bench Client <bench@client.example>\r\nTo: support@example.nl\r\n"
            f"Subject: Storing {tag} {number}\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n"
            f"Message-ID: <imap-bench-{tag}-{number}@client.example>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        ).encode()
        body = line * max(1, (size - len(head)) // len(line))
        messages.append(head + body)
    return messages


def run_bare(
    port: int, username: str, password: str, batch: int, expected: int, shipped: bool = False
) -> Trial:
    from imapclient import IMAPClient

    from mailintake.intake.imap import without_protocol_trace

    cpu, start = time.process_time(), time.perf_counter()
    client = IMAPClient("127.0.0.1", port, ssl=False, timeout=60)
    if not shipped:
        without_protocol_trace(client)
    client.login(username, password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search(["ALL"])
    got = 0
    for first in range(0, len(uids), batch):
        fetched = client.fetch(uids[first : first + batch], ["BODY.PEEK[]"])
        got += sum(len(data[b"BODY[]"]) > 0 for data in fetched.values())
    client.logout()
    seconds = time.perf_counter() - start
    if got != expected:
        raise RuntimeError(f"bare loop fetched {got} of {expected} messages")
    return Trial("bare-shipped" if shipped else "bare", got, seconds, time.process_time() - cpu)


def run_mailintake(settings: object, template: Path, workdir: Path, expected: int) -> Trial:
    from sqlalchemy import text

    from mailintake.intake.imap import run_pollers
    from mailintake.storage.database import make_engine, make_sessionmaker

    shutil.copytree(template, workdir / "data")
    engine = make_engine(f"sqlite:///{workdir / 'data' / 'mailintake.db'}")
    sessions = make_sessionmaker(engine)

    async def take_all() -> float:
        stop, done = asyncio.Event(), asyncio.Event()
        stored = 0

        def on_stored(_spool_id: int) -> None:
            nonlocal stored
            stored += 1
            if stored >= expected:
                done.set()

        start = time.perf_counter()
        task = asyncio.create_task(
            run_pollers([settings], sessions, stop, on_stored, workdir)  # type: ignore[list-item]
        )
        await asyncio.wait_for(done.wait(), timeout=600)
        seconds = time.perf_counter() - start
        stop.set()
        await task
        return seconds

    cpu = time.process_time()
    seconds = asyncio.run(take_all())
    cpu = time.process_time() - cpu
    with engine.connect() as connection:
        rows, distinct = connection.execute(
            text("SELECT count(*), count(DISTINCT message_id) FROM spool")
        ).one()
    engine.dispose()
    if not rows == distinct == expected:
        raise RuntimeError(
            f"mail lost or doubled: {expected} in the mailbox, spooled {rows} rows with "
            f"{distinct} distinct Message-IDs"
        )
    return Trial("mailintake", expected, seconds, cpu)


def log_to(path: Path) -> None:
    """The poller's lines to a file, formatted as serve formats them."""
    from mailintake.logs import KeyValueFormatter

    handler = logging.FileHandler(path)
    handler.setFormatter(KeyValueFormatter())
    root = logging.getLogger("mailintake")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2000, help="messages in the mailbox (N)")
    parser.add_argument("--size", type=int, default=4096, help="bytes per message")
    parser.add_argument("--batch", type=int, default=100, help="messages per FETCH (B)")
    parser.add_argument("--repeat", type=int, default=5, help="trials per target; medians count")
    parser.add_argument("--workdir", type=Path, help="parent folder for temp files and SQLite")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from tests.support import dovecot as dovecot_support

    if dovecot_support.DOVECOT is None or dovecot_support.DOVEADM is None:
        print("Dovecot is not installed (Debian: apt-get install dovecot-imapd)", file=sys.stderr)
        return 2
    import imapclient

    from mailintake.storage.database import make_engine, migrate

    version = dovecot_support.subprocess.run(
        [dovecot_support.DOVECOT, "--version"], capture_output=True, text=True
    ).stdout.split()[0]
    print(f"N={args.messages} messages of ~{args.size} bytes; batches of {args.batch}; "
          f"{args.repeat} trial(s) per target, in turn, medians count")  # fmt: skip
    python = sys.version.split()[0]
    print(f"{os.cpu_count()} CPU cores ({cpu_model()}); Python {python}; imapclient "
          f"{imapclient.__version__}; Dovecot {version} (Maildir, 127.0.0.1)")  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="mailintake-imap-bench-", dir=args.workdir))
    server = dovecot_support.start_dovecot()
    trials: list[Trial] = []
    try:
        user = server.add_user()
        started = time.perf_counter()
        server.deliver(user, make_messages(args.messages, args.size, uuid.uuid4().hex[:8]))
        print(f"delivered {args.messages} messages in {time.perf_counter() - started:.1f} s")
        template = root / "template"
        engine = make_engine(f"sqlite:///{template / 'mailintake.db'}")
        migrate(engine)
        engine.dispose()
        settings = server.settings(user, batch_size=args.batch, poll_seconds=60.0)
        log_to(root / "mailintake.log")
        targets = ["bare", "mailintake", "bare-shipped"]
        for number in range(args.repeat):
            # Rotate which goes first, so none always meets a warm or a cold server.
            for target in targets[number % 3 :] + targets[: number % 3]:
                if target.startswith("bare"):
                    trial = run_bare(server.port, user.name, user.password, args.batch,
                                     args.messages, shipped=target == "bare-shipped")  # fmt: skip
                else:
                    workdir = root / f"{number:02d}"
                    workdir.mkdir()
                    trial = run_mailintake(settings, template, workdir, args.messages)
                    shutil.rmtree(workdir, ignore_errors=True)
                trials.append(trial)
                print(f"  trial {number + 1} {target:<12} {trial.seconds:6.3f} s  "
                      f"{trial.rate:7.0f} msg/s  (CPU here {trial.cpu:.2f} s)")  # fmt: skip
    finally:
        server.remove()
        shutil.rmtree(root, ignore_errors=True)
    print()
    seconds: dict[str, float] = {}
    for target, name in (("bare", "(a)  bare imapclient loop, trace off"),
                         ("bare-shipped", "(a') bare imapclient loop, as shipped"),
                         ("mailintake", "(b)  mailintake poller")):  # fmt: skip
        runs = [t for t in trials if t.target == target]
        seconds[target] = statistics.median(t.seconds for t in runs)
        print(f"{name:<38} {seconds[target]:6.3f} s  {args.messages / seconds[target]:7.0f} "
              f"msg/s  CPU {statistics.median(t.cpu for t in runs):.2f} s")  # fmt: skip
    ours = seconds["mailintake"]
    print(f"ratio (a)/(b)   {seconds['bare'] / ours:.2f}   (goal >= 0.7)")
    print(f"ratio (a')/(b)  {seconds['bare-shipped'] / ours:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
