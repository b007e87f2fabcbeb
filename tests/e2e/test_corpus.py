"""Every real message of the shared corpus goes in through `ingest` and ends processed or
failed-with-error: none lost, none crashing the worker.

The corpus (1 175 files from 15 projects' test suites, ../shared/corpus/public) stays outside
the repository because several sources are copyleft; see tests/conftest.py `corpus_dir`.
"""

from __future__ import annotations

import collections
import shutil
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from mailintake.intake.desk import Desk
from mailintake.intake.pipe import EX_DATAERR, EX_OK, ingest
from mailintake.intake.worker import Worker
from mailintake.storage.database import transaction
from mailintake.storage.spool import Spool
from mailintake.storage.tickets import list_tickets
from tests.support.configs import write_config
from tests.support.servers import run_cli

# An Outlook .msg file (an OLE compound document), not MIME: a pipe must refuse it with 65.
NOT_MIME = {"spamscope-mail-parser/mail_outlook_1"}


def corpus_files(corpus_dir: Path) -> list[tuple[str, set[str]]]:
    rows = (corpus_dir / "public" / "categories.tsv").read_text().splitlines()[1:]
    return [(path, set(filter(None, tags.split(",")))) for path, _, tags in
            (row.partition("\t") for row in rows)]  # fmt: skip


def test_every_corpus_message_is_processed_or_failed_with_an_error(
    corpus_dir: Path, sqlite_sessions: sessionmaker[Session], desk: Desk
) -> None:
    files = corpus_files(corpus_dir)
    assert len(files) == 1175
    spool = Spool(sqlite_sessions)
    refused = {}
    for path, _tags in files:
        code, message = ingest((corpus_dir / "public" / path).read_bytes(), lambda: spool, path)
        assert code in (EX_OK, EX_DATAERR), message
        if code == EX_DATAERR:
            refused[path] = message
    assert set(refused) == NOT_MIME, refused

    report = Worker(sqlite_sessions, desk).drain()
    counts = spool.counts()
    with transaction(sqlite_sessions) as session:
        tickets = list_tickets(session)
        fallbacks = sum(
            any("parsed with email" in d for d in t.events[0].data.get("defects", []))
            for t in tickets
        )
        flagged = sum("malformed" in t.flags for t in tickets)
    reasons = collections.Counter(f.error.split(" (at")[0] for f in report.failures)
    print(
        f"\ncorpus: {len(files)} files, {len(refused)} refused by ingest (not MIME), "
        f"{report.created} tickets, {report.replies} replies, {report.duplicates} duplicates "
        f"(same Message-ID), {len(report.failures)} failed; {fallbacks} parsed by the stdlib "
        f"fallback; {flagged} tickets flagged malformed; failures: {dict(reasons)}"
    )
    assert counts.get("received", 0) == 0
    assert counts.get("processed", 0) + counts.get("failed", 0) == len(files) - len(refused)
    assert report.total == len(files) - len(refused)
    assert all(f.error for f in report.failures)
    assert len(report.failures) == 0, reasons


def test_odd_corpus_mail_through_the_real_command(corpus_dir: Path, tmp_path: Path) -> None:
    """One file of each trait, through `mailintake ingest` and `mailintake process --once`."""
    config = write_config(tmp_path, storage={"url": "sqlite:///data/desk.db"})
    run_cli(config, "init", check=True)
    picked: dict[str, str] = {}
    for path, tags in corpus_files(corpus_dir):
        for tag in tags:
            if path not in NOT_MIME:
                picked.setdefault(tag, path)
    for path in sorted(set(picked.values())):
        copy = tmp_path / Path(path).name
        shutil.copyfile(corpus_dir / "public" / path, copy)
        assert run_cli(config, "ingest", str(copy)).returncode == 0, path
    outcome = run_cli(config, "process", "--once", check=True).stdout.decode()
    assert f"processed {len(set(picked.values()))}:" in outcome
    assert ", 0 failed" in outcome
    assert run_cli(config, "spool", "list", "--state", "received").stdout.count(b"\n") <= 1
