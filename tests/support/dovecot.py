"""A throwaway Dovecot for the IMAP tests: 127.0.0.1, free ports, passwd-file users, Maildir.

Everything lives in one temp folder (config, sockets, state, log, mail) and is removed on stop.
The passwd-file holds a pool of users from the start, and each test takes one, so one server
serves many tests, each with a mailbox of its own. As root (CI), Dovecot's master runs as root
as it is built to, logins as `dovenull`, and mail is stored as `nobody` (Dovecot refuses root
for mail); as another user, everything runs as that user. Where Dovecot is not installed the
tests are skipped, and under CI they fail (see `unavailable`).
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from mailintake.intake.imap_settings import ImapSettings
from tests.support.servers import free_port, unavailable, wait_for_port

DOVECOT = shutil.which("dovecot", path=os.environ.get("PATH", "") + ":/usr/sbin")
DOVEADM = shutil.which("doveadm", path=os.environ.get("PATH", "") + ":/usr/bin:/usr/sbin")
PASSWORD = "secret"
# Users are written to the passwd-file before the start: Dovecot looks at the file at most once
# a second, so a user added while it runs might not log in at once.
USERS = 300


@dataclass(frozen=True)
class MailUser:
    name: str
    password: str = PASSWORD


@dataclass
class Dovecot:
    directory: Path
    port: int
    imaps_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    users: list[MailUser] = field(default_factory=list)
    spare_users: list[MailUser] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.directory / "dovecot.conf"

    @property
    def log(self) -> Path:
        return self.directory / "dovecot.log"

    @property
    def certificate(self) -> Path:
        return self.directory / "cert.pem"

    def start(self) -> None:
        assert DOVECOT is not None
        with (self.directory / "stderr").open("ab") as stderr:
            # A session of its own, so `stop` can end the mail processes too (see there).
            self.process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(self.config)],
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True,
            )  # fmt: skip
        try:
            wait_for_port(self.port, self.process, timeout=20)
            if self.imaps_port:
                wait_for_port(self.imaps_port, self.process, timeout=20)
        except (RuntimeError, TimeoutError) as error:
            raise RuntimeError(f"dovecot did not start: {error}\n{self.log_text()}") from None

    def stop(self) -> None:
        """Stop the server (keeping its mail), as `systemctl stop dovecot` does: the master,
        then every process it started. (Dovecot's master alone leaves the imap processes of
        open connections running; systemd ends the whole group.)"""
        if self.process is None:
            return
        group = self.process.pid  # the session leader's pid is the group's id
        if self.process.poll() is None:
            # The master first: all at once makes it wait seconds for its log process.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _group_alive(group) and time.monotonic() < deadline:
            time.sleep(0.02)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def remove(self) -> None:
        """Kill it outright (no test is watching any more) and delete its folder."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None
        shutil.rmtree(self.directory, ignore_errors=True)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # Users and their mail.

    def add_user(self) -> MailUser:
        """A mailbox no other test has used."""
        if not self.spare_users:
            raise RuntimeError(f"all {USERS} test users are taken; raise USERS")
        user = self.spare_users.pop(0)
        self.users.append(user)
        return user

    @contextmanager
    def client(self, user: MailUser) -> Iterator[IMAPClient]:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30)
        try:
            client.login(user.name, user.password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def deliver(
        self, user: MailUser, messages: Iterable[bytes], folder: str = "INBOX", chunk: int = 100
    ) -> None:
        """Put messages in a folder the way a mail host's delivery would (APPEND)."""
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            batch: list[bytes] = []
            for raw in messages:
                batch.append(raw)
                if len(batch) >= chunk:
                    client.multiappend(folder, batch)
                    batch = []
            if batch:
                client.multiappend(folder, batch)

    def flags(self, user: MailUser, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """Each message's stored flags, by UID, looked at read-only."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            fetched = client.fetch(uids, ["FLAGS"]) if uids else {}
            # \Recent belongs to a session, not to the message: leave it out.
            return {
                uid: tuple(flag for flag in data[b"FLAGS"] if flag != b"\\Recent")
                for uid, data in fetched.items()
            }

    def count(self, user: MailUser, folder: str = "INBOX") -> int:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    def uid_validity(self, user: MailUser, folder: str = "INBOX") -> int:
        with self.client(user) as client:
            return int(client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"])

    def doveadm(self, *args: str) -> str:
        assert DOVEADM is not None
        result = subprocess.run(
            [DOVEADM, "-c", str(self.config), *args], capture_output=True, timeout=30
        )
        if result.returncode != 0:
            raise RuntimeError(f"doveadm {' '.join(args)}: {result.stderr.decode()}")
        return result.stdout.decode()

    def settings(self, user: MailUser, **overrides: Any) -> ImapSettings:
        return ImapSettings.model_validate(self.entry(user, **overrides))

    def entry(self, user: MailUser, **overrides: Any) -> dict[str, Any]:
        """An `[[imap]]` entry for this user, with the short waits tests want."""
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "tls": "none",
            "username": user.name,
            "password": user.password,
            "poll_seconds": 0.5,
            "reconnect_max_seconds": 0.5,
            "timeout_seconds": 10,
            **overrides,
        }


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, for the TLS tests."""
    openssl = shutil.which("openssl")
    if openssl is None:
        unavailable("openssl is not installed (needed to make a test certificate)")
    assert openssl is not None
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def _config(
    directory: Path, port: int, imaps_port: int | None, tls: tuple[Path, Path] | None
) -> str:
    root = os.geteuid() == 0
    anvil_chroot = "" if root else "  chroot =\n"
    if root:
        mail_user, mail_group = "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name
        service_users = "default_login_user = dovenull\ndefault_internal_user = dovecot\n"
        chroots = ""
    else:
        mail_user = getpass.getuser()
        mail_group = grp.getgrgid(os.getgid()).gr_name
        # Dovecot's rootless mode: every process as this user, no chroots.
        service_users = f"default_login_user = {mail_user}\ndefault_internal_user = {mail_user}\n"
        chroots = "service imap-login {\n  chroot =\n}\n"
    ssl = "no"
    imaps = "  inet_listener imaps {\n    port = 0\n  }\n"
    if tls is not None and imaps_port is not None:
        ssl = f"yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}"
        imaps = (
            f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps_port}\n"
            "    ssl = yes\n  }\n"
        )
    return f"""# A throwaway Dovecot for mailintake's tests; see tests/support/dovecot.py.
base_dir = {directory}/run
state_dir = {directory}/state
instance_name = mailintake-test-{port}
log_path = {directory}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
# Plain LOGIN over loopback for the tests that do not test TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login
# The bad-credentials test must not slow down the other tests' logins from 127.0.0.1: no
# failure delay, and no auth penalty (Dovecot's documented way to turn it off).
auth_failure_delay = 0
service anvil {{
{anvil_chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_location = maildir:{directory}/mail/%u
first_valid_uid = 1
{service_users}{chroots}passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {directory}/users
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={directory}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
{imaps}}}
"""


def start_dovecot(tls: bool = False) -> Dovecot:
    if DOVECOT is None or DOVEADM is None:
        unavailable("Dovecot is not installed (Debian: apt-get install dovecot-imapd)")
    # Not under pytest's tmp_path: the mail user (nobody) must reach it, and the sockets'
    # paths must stay short.
    directory = Path(tempfile.mkdtemp(prefix="mi-dovecot-"))
    directory.chmod(0o755)
    (directory / "run").mkdir()
    (directory / "state").mkdir()
    mail = directory / "mail"
    mail.mkdir()
    if os.geteuid() == 0:
        shutil.chown(mail, "nobody", grp.getgrgid(pwd.getpwnam("nobody").pw_gid).gr_name)
    users = [MailUser(f"desk-{number:03d}-{uuid.uuid4().hex[:6]}") for number in range(USERS)]
    (directory / "users").write_text(
        "".join(f"{user.name}:{{PLAIN}}{user.password}::::::\n" for user in users),
        encoding="utf-8",
    )
    port = free_port()
    imaps_port = free_port() if tls else None
    certificate = make_certificate(directory) if tls else None
    (directory / "dovecot.conf").write_text(
        _config(directory, port, imaps_port, certificate), encoding="utf-8"
    )
    server = Dovecot(directory, port, imaps_port, spare_users=users)
    try:
        server.start()
    except RuntimeError as error:
        server.remove()
        unavailable(str(error))
    return server


def message(number: int, tag: str = "t", body: str = "Geen kiestoon op de receptie.") -> bytes:
    return (
        f"From: Jan de Vries <jan@klant.nl>\r\nTo: support@example.nl\r\n"
        f"Subject: Storing {tag} {number}\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n"
        f"Message-ID: <{tag}-{number}@klant.nl>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def messages(count: int, tag: str | None = None) -> Sequence[bytes]:
    tag = tag or uuid.uuid4().hex[:8]
    return [message(number, tag) for number in range(count)]
