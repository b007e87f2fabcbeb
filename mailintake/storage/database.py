"""Engines, sessions and schema checks, the same way for SQLite and PostgreSQL.

SQLite runs in WAL mode with `synchronous=FULL` (a committed message survives a power cut).
A writing transaction begins IMMEDIATE, so two writers queue instead of failing when one upgrades
a read lock; in one process they queue on a Python lock, which wakes the next writer the moment
the lock is free, where SQLite's busy handler would poll with growing sleeps. A read-only
transaction (`transaction(..., write=False)`) begins DEFERRED and waits for no writer. `serve`
calls `require_current_schema` and refuses a database that `mailintake init` has not migrated.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "mailintake_read_only"
WRITER_WAIT_SECONDS = 30.0


class SchemaNotCurrent(Exception):
    """The database is missing, or at another schema revision than this code needs."""


def make_engine(url: str, *, busy_timeout_seconds: float = 30.0) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_seconds})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_seconds * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


@functools.cache
def _read_only(engine: Engine) -> Engine:
    return engine.execution_options(**{READ_ONLY: True})


@functools.cache
def _writer_lock(engine: Engine) -> threading.Lock:
    return threading.Lock()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session], *, write: bool = True) -> Iterator[Session]:
    """A session whose work commits together at the end of the block, or not at all.

    `write=False` promises only reads: on SQLite it neither takes nor waits for the write lock.
    """
    engine = sessions.kw["bind"]
    if not write:
        with sessions(bind=_read_only(engine)) as session, session.begin():
            yield session
        return
    with _serial(engine), sessions() as session, session.begin():
        yield session


@contextmanager
def core_transaction(engine: Engine) -> Iterator[Connection]:
    """A writing transaction without the ORM, for the hot path of accepting mail: a Session
    costs more than the insert and the fsync together."""
    with _serial(engine), engine.begin() as connection:
        yield connection


def _serial(engine: Engine) -> AbstractContextManager[None]:
    return _writer_turn(engine) if engine.dialect.name == "sqlite" else nullcontext()


@contextmanager
def _writer_turn(engine: Engine, timeout: float = WRITER_WAIT_SECONDS) -> Iterator[None]:
    lock = _writer_lock(engine)
    if not lock.acquire(timeout=timeout):
        # As SQLite would say after its busy timeout; never wait forever (a nested write
        # transaction in one thread would).
        raise TimeoutError(f"database is locked: no write turn after {timeout:.0f} s")
    try:
        yield
    finally:
        lock.release()


def alembic_config(engine: Engine) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (before, after)."""
    before = current_revision(engine)
    command.upgrade(alembic_config(engine), "head")
    return before, current_revision(engine)


def require_current_schema(engine: Engine) -> None:
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        where = engine.url.render_as_string(hide_password=True)
        state = "has no mailintake schema" if current is None else f"is at revision {current}"
        raise SchemaNotCurrent(
            f"the database {where} {state}, this version needs {head}: run `mailintake init`"
        )
