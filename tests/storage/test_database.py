"""Schema, migrations and time handling, on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from mailintake.storage.database import (
    SchemaNotCurrent,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    require_current_schema,
    transaction,
)
from mailintake.storage.models import Event, Ticket
from mailintake.storage.tickets import allocate_ref
from tests.support.servers import run_cli


def test_migrate_creates_every_table_and_is_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    with pytest.raises(SchemaNotCurrent, match="run `mailintake init`"):
        require_current_schema(engine)
    before, after = migrate(engine)
    assert (before, after) == (None, head_revision(engine))
    tables = set(inspect(engine).get_table_names())
    assert {"spool", "tickets", "ticket_messages", "attachments", "events", "outbox"} <= tables
    assert migrate(engine) == (after, after)
    require_current_schema(engine)
    engine.dispose()


def test_the_migrations_build_exactly_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from mailintake.storage.models import Base

    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == [], "models changed without a migration: add one in storage/migrations"


def test_sqlite_runs_in_wal_mode_with_full_sync(sqlite_sessions: sessionmaker[Session]) -> None:
    with sqlite_sessions() as session:
        assert session.connection().exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert session.connection().exec_driver_sql("PRAGMA synchronous").scalar() == 2


def test_times_come_back_aware_in_utc(sessions: sessionmaker[Session]) -> None:
    amsterdam_summer = datetime(2026, 7, 1, 16, 0, tzinfo=timezone(timedelta(hours=2)))
    with transaction(sessions) as session:
        ticket = Ticket(ref="T-2026-999999", created_at=amsterdam_summer)
        session.add(ticket)
    with transaction(sessions) as session:
        stored = session.scalar(select(Ticket.created_at))
    assert stored == amsterdam_summer
    assert stored is not None and stored.utcoffset() == timedelta(0)


def test_naive_times_are_refused(sessions: sessionmaker[Session]) -> None:
    with pytest.raises(Exception, match="naive datetime"), transaction(sessions) as session:
        session.add(Ticket(ref="T-2026-999998", created_at=datetime(2026, 7, 1, 16, 0)))
        session.flush()


def test_refs_count_per_year_and_are_never_reused(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        refs = [allocate_ref(session, 2026) for _ in range(3)] + [allocate_ref(session, 2027)]
    with transaction(sessions) as session:
        refs.append(allocate_ref(session, 2026))
    assert refs == ["T-2026-000001", "T-2026-000002", "T-2026-000003", "T-2027-000001",
                    "T-2026-000004"]  # fmt: skip


def test_event_data_round_trips_as_json(sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        ticket = Ticket(ref="T-2026-000010", created_at=now)
        session.add(Event(ticket=ticket, type="received", at=now, data={"spool_id": 3, "x": ["é"]}))
    with transaction(sessions) as session:
        assert session.scalar(select(Event.data)) == {"spool_id": 3, "x": ["é"]}


def test_init_creates_the_database_and_serve_refuses_an_unmigrated_one(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[smtp]\nport = 1\n")
    refused = run_cli(config, "serve")
    assert refused.returncode == 2
    assert "has no mailintake schema" in refused.stderr.decode()
    assert "run `mailintake init`" in refused.stderr.decode()

    created = run_cli(config, "init", check=True)
    assert "migrated from empty to revision" in created.stdout.decode()
    assert (tmp_path / "data" / "mailintake.db").exists()
    again = run_cli(config, "init", check=True)
    assert "schema is current" in again.stdout.decode()
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'mailintake.db'}")
    assert current_revision(engine) == head_revision(engine)
    engine.dispose()


def test_a_write_transaction_never_waits_forever_for_another(
    sqlite_sessions: sessionmaker[Session],
) -> None:
    from mailintake.storage.database import _writer_turn

    engine = sqlite_sessions.kw["bind"]
    with (
        transaction(sqlite_sessions),
        pytest.raises(TimeoutError, match="database is locked"),
        _writer_turn(engine, timeout=0.1),
    ):
        pass


def test_reads_do_not_wait_for_a_writer(sqlite_sessions: sessionmaker[Session]) -> None:
    with transaction(sqlite_sessions) as writer:
        writer.add(Ticket(ref="T-2026-000001", created_at=datetime.now(UTC)))
        writer.flush()
        with transaction(sqlite_sessions, write=False) as reader:
            assert reader.scalar(select(Ticket.ref)) is None  # not yet committed
