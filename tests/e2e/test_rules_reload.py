"""The daemon takes an edited rules file without a restart, and refuses a bad edit.

Every reload is a desk event with the file's sha256; every ticket's `classified` event carries
the sha256 of the rules that judged it, so an admin can tell which version classified what.
"""

from __future__ import annotations

import json
import shutil
import signal
import smtplib
from pathlib import Path

from mailintake.classifiers import DEFAULT_RULES_PATH, rules_hash
from tests.e2e.test_serve import query, raw, wait_for
from tests.support.configs import write_config
from tests.support.servers import Daemon, free_port

VIP_RULE = """
[[rule]]
name = "vip-subject"
when = { subject = { contains = "VIP" } }
then = { tags = ["vip"] }
"""


def send(daemon: Daemon, message_id: str, subject: str) -> None:
    with smtplib.SMTP("127.0.0.1", daemon.port) as client:
        client.sendmail("jan@klant.nl", ["support@example.nl"], raw(message_id, subject=subject))


def classified(daemon: Daemon, message_id: str) -> dict:
    rows = query(
        daemon,
        "SELECT e.data FROM events e JOIN ticket_messages m ON m.ticket_id = e.ticket_id "
        "WHERE m.message_id = :mid AND e.type = 'classified'",
        mid=message_id,
    )
    return json.loads(rows[0][0]) if rows else {}


def desk_events(daemon: Daemon) -> list[dict]:
    rows = query(daemon, "SELECT type, data FROM events WHERE ticket_id IS NULL ORDER BY id")
    return [{"type": kind, **json.loads(data)} for kind, data in rows]


def test_edit_reload_reject_and_sighup(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    shutil.copyfile(DEFAULT_RULES_PATH, rules)
    port = free_port()
    config = write_config(
        tmp_path,
        storage={"url": "sqlite:///data/mailintake.db"},
        smtp={"port": port},
        rules={"path": "rules.toml", "watch_seconds": 0.2},
        pipeline={"poll_seconds": 0.2},
    )
    daemon = Daemon(tmp_path, config, port)
    daemon.cli("init", check=True)
    daemon.start()
    try:
        original = rules_hash(rules)
        wait_for(lambda: [e["sha256"] for e in desk_events(daemon)] == [original])

        # A valid edit is picked up by the watcher and used for the next mail.
        rules.write_text(rules.read_text() + VIP_RULE)
        edited = rules_hash(rules)
        wait_for(lambda: desk_events(daemon)[-1]["sha256"] == edited)
        assert desk_events(daemon)[-1]["type"] == "rules_reloaded"
        send(daemon, "<vip-1@klant.nl>", "VIP storing")
        wait_for(lambda: classified(daemon, "<vip-1@klant.nl>"))
        assert "vip" in classified(daemon, "<vip-1@klant.nl>")["tags"]
        assert classified(daemon, "<vip-1@klant.nl>")["rules_hash"] == edited

        # A bad edit is logged and rejected; the edited rules stay active.
        rules.write_text(rules.read_text().replace('name = "vip-subject"', 'nam = "x"'))
        wait_for(lambda: "event=rules_rejected" in daemon.log_text())
        send(daemon, "<vip-2@klant.nl>", "VIP storing")
        wait_for(lambda: classified(daemon, "<vip-2@klant.nl>"))
        assert classified(daemon, "<vip-2@klant.nl>")["rules_hash"] == edited
        assert "vip" in classified(daemon, "<vip-2@klant.nl>")["tags"]

        # SIGHUP reloads at once, here back to the original file.
        shutil.copyfile(DEFAULT_RULES_PATH, rules)
        assert daemon.process is not None
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: desk_events(daemon)[-1]["sha256"] == original)
        assert daemon.process.poll() is None
    finally:
        assert daemon.stop() == 0
    log = daemon.log_text()
    assert log.count("event=rules_rejected") >= 1
    assert "did you mean" in log or "nam" in log
