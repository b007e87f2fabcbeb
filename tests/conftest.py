"""Fixtures shared by every room's tests: databases (SQLite and a real PostgreSQL) and configs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from mailintake.config import parse_config
from mailintake.intake.desk import Desk, build_desk
from mailintake.storage.database import make_engine, make_sessionmaker, migrate
from tests.support.mta import FakeMta, start_mta
from tests.support.servers import PostgresCluster, free_port, start_postgres


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = start_postgres()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind the daemon supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'mailintake.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database of each kind."""
    engine = make_engine(database_url)
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'mailintake.db'}")
    migrate(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def desk(tmp_path: Path) -> Desk:
    """The desk on the built-in defaults, its secret file in the test's own folder."""
    return build_desk(parse_config({}, tmp_path / "config.toml"))


@pytest.fixture
def corpus_dir() -> Path:
    """The shared corpus of real test mail beside the checkout (see ../shared/corpus/README.md)."""
    path = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    if not path.is_dir():
        from tests.support.servers import unavailable

        unavailable(f"the shared mail corpus is not at {path}")
    return path


@pytest.fixture
def mta() -> Iterator[FakeMta]:
    handler = FakeMta()
    controller = start_mta(handler, free_port())
    handler.port = controller.port  # type: ignore[attr-defined]
    yield handler
    controller.stop()
