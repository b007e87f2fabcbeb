"""A running desk for end-to-end tests: `mailintake serve` with a customers file, sending its
mail to a fake MTA, with short intervals so the tests do not wait."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.configs import write_config
from tests.support.mta import FakeMta
from tests.support.servers import Daemon, free_port


def start_desk(
    folder: Path, mta: FakeMta, customers: str, *, extra_toml: str = "", **sections: Any
) -> Daemon:
    (folder / "customers.toml").write_text(customers)
    port = free_port()
    config = write_config(
        folder,
        storage={"url": "sqlite:///data/mailintake.db"},
        smtp={"port": port},
        outbound={"port": mta.port},  # type: ignore[attr-defined]
        customers={"path": "customers.toml"},
        pipeline={"poll_seconds": 0.2},
        schedule={"delivery_seconds": 0.2},
        **sections,
    )
    if extra_toml:
        with config.open("a") as file:
            file.write("\n" + extra_toml)
    daemon = Daemon(folder, config, port)
    daemon.cli("init", check=True)
    daemon.start()
    return daemon
