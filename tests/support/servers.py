"""Real servers for the tests: a PostgreSQL cluster in a temp folder, and `mailintake serve`.

Each listens on 127.0.0.1 on a free port and is stopped by the fixture that started it. A server
that cannot run here is a failure under CI (the CI variable is set) and a skip elsewhere, with
the reason, so a developer without PostgreSQL can still run the rest.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must provide it: see .ci/run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 20
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _as_postgres_user(command: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(command)
    # PostgreSQL refuses to run as root; CI runs as root.
    return ["runuser", "-u", "postgres", "--", *command]


@dataclass
class PostgresCluster:
    directory: Path
    port: int
    bin_dir: Path

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        subprocess.run(
            [str(self.bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
             "-q", "-c", f'CREATE DATABASE "{name}"'],
            check=True, capture_output=True,
        )  # fmt: skip
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            _as_postgres_user([str(self.bin_dir / "pg_ctl"), "-D", str(self.directory / "data"),
                               "-m", "immediate", "stop"]),
            capture_output=True,
        )  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    if not PG_BIN_DIRS or not (PG_BIN_DIRS[0] / "initdb").exists():
        unavailable("PostgreSQL server binaries not found under /usr/lib/postgresql")
    bin_dir = PG_BIN_DIRS[0]
    # Not under pytest's tmp_path: the postgres user must be able to reach the folder.
    base = Path(tempfile.mkdtemp(prefix="mailintake-pg-"))
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
    data = base / "data"
    subprocess.run(
        _as_postgres_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=trust", "--no-sync", "-E", "UTF8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                           "-l", str(base / "log"), "start"]),
        check=True, capture_output=True,
    )  # fmt: skip
    return PostgresCluster(base, port, bin_dir)


@dataclass
class Daemon:
    """A `mailintake serve` process on its own config, database and port."""

    workdir: Path
    config: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.workdir / "serve.log"

    def cli(
        self, *args: str, input: bytes | None = None, check: bool = False
    ) -> subprocess.CompletedProcess[bytes]:
        return run_cli(self.config, *args, input=input, check=check)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [*mailintake_command(), "--config", str(self.config), "serve"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
            )  # fmt: skip
        wait_for_port(self.port, self.process)

    def stop(self, timeout: float = 20) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self.process = None
        return code

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def mailintake_command() -> list[str]:
    """The installed console script, as an operator would run it."""
    script = Path(sys.executable).with_name("mailintake")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mailintake.cli"]


def run_cli(
    config: Path, *args: str, input: bytes | None = None, check: bool = False
) -> subprocess.CompletedProcess[bytes]:
    result = subprocess.run(
        [*mailintake_command(), "--config", str(config), *args],
        input=input, capture_output=True, cwd=config.parent, timeout=120,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(
            f"mailintake {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stderr.decode(errors='replace')}"
        )
    return result
