"""Private Dovecot servers on 127.0.0.1 for the IMAP ingest tests, and helpers to fill them."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tests.dkimtest import DnsStub, sign
from tests.servers import free_port

from sbwatch.config.settings import MailSettings
from sbwatch.core.clock import Clock, SystemClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import ProviderEmail
from sbwatch.ingest.imap import MailWatcher
from sbwatch.ingest.parse import TrustRule
from sbwatch.store.sqlite import SqliteStore

PASSWORD = "secret"
POOL = 64


def _config(root: Path, port: int, tls: bool) -> str:
    lines = [
        "listen = 127.0.0.1",
        "protocols = imap",
        f"base_dir = {root}/run",
        f"state_dir = {root}/state",
        f"log_path = {root}/dovecot.log",
        f"info_log_path = {root}/dovecot.log",
        "first_valid_uid = 1",
        "auth_failure_delay = 0",
        "mail_location = maildir:%h/Maildir",
        f"passdb {{\n  driver = passwd-file\n  args = {root}/users\n}}",
        f"userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={root}/home/%u\n}}",
        "service anvil {\n  chroot =\n}",
        "service imap-login {\n  chroot =\n"
        f"  inet_listener imap {{\n    port = {port}\n  }}\n"
        f"  inet_listener imaps {{\n    port = {port + 1 if tls else 0}\n    ssl = yes\n  }}\n}}",
        "login_trusted_networks =",
        "imap_idle_notify_interval = 2 mins",
    ]
    if tls:
        lines += [
            "ssl = yes",
            f"ssl_cert = <{root}/cert.pem",
            f"ssl_key = <{root}/key.pem",
            "disable_plaintext_auth = yes",
        ]
    else:
        lines += ["ssl = no", "disable_plaintext_auth = no"]
    return "\n".join(lines) + "\n"


@dataclass
class Dovecot:
    """One private Dovecot; ``port`` is IMAP (STARTTLS when tls), ``port + 1`` IMAPS."""

    root: Path
    tls: bool = False
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    users: list[str] = field(default_factory=list)

    def start(self) -> None:
        """Start (or restart after stop) and wait until the port accepts connections."""
        if not self.port:
            self.port = free_port()
            while self.tls and not _port_free(self.port + 1):
                self.port = free_port()
        self.root.chmod(0o755)
        (self.root / "run").mkdir(parents=True, exist_ok=True)
        (self.root / "state").mkdir(exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        # Every user is written before start: Dovecot notices passwd-file edits only lazily.
        lines = [f"user{i}:{{PLAIN}}{PASSWORD}\n" for i in range(POOL)]
        (self.root / "users").write_text("".join(lines))
        (self.root / "run" / "master.pid").unlink(missing_ok=True)
        conf = self.root / "dovecot.conf"
        conf.write_text(_config(self.root, self.port, self.tls))
        self.proc = subprocess.Popen(["dovecot", "-c", str(conf), "-F"], stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                stderr = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"dovecot exited: {stderr}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise RuntimeError("dovecot did not start listening")

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None

    def add_user(self) -> str:
        """A fresh user (from the pool written before start) with PASSWORD and an empty INBOX."""
        user = f"user{len(self.users)}"
        if len(self.users) >= POOL:
            raise RuntimeError("user pool exhausted: raise POOL")
        maildir = self.maildir(user)
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root / "home", "dovecot", "dovecot")
        subprocess.run(
            ["chown", "-R", "dovecot:dovecot", str(self.root / "home" / user)], check=True
        )
        self.users.append(user)
        return user

    def maildir(self, user: str) -> Path:
        """The user's INBOX maildir."""
        return self.root / "home" / user / "Maildir"

    def write_maildir(self, user: str, messages: list[bytes]) -> None:
        """Drop messages straight into Maildir/new (fast bulk fill; Dovecot assigns UIDs)."""
        new = self.maildir(user) / "new"
        stamp = int(time.time())
        for index, raw in enumerate(messages):
            (new / f"{stamp}.M{index}P{os.getpid()}.bulk").write_bytes(raw)
        subprocess.run(["chown", "-R", "dovecot:dovecot", str(self.maildir(user))], check=True)

    def settings(self, user: str, **extra: Any) -> dict[str, Any]:
        """MailSettings keyword arguments for this server and user (plain on loopback)."""
        base: dict[str, Any] = {
            "enabled": True,
            "host": "127.0.0.1",
            "port": self.port,
            "security": "plain",
            "username": user,
            "password": PASSWORD,
        }
        base.update(extra)
        return base

    def append(self, user: str, messages: list[bytes]) -> float:
        """APPEND messages over IMAP (blocking); seconds per APPEND round trip on average."""
        client = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            if self.tls:
                client.starttls(ssl._create_unverified_context())  # test cert is self-signed
            client.login(user, PASSWORD)
            start = time.perf_counter()
            for raw in messages:
                client.append("INBOX", None, None, raw)
            took = time.perf_counter() - start
            client.logout()
        finally:
            with contextlib.suppress(Exception):
                client.shutdown()
        return took / max(len(messages), 1)

    async def aappend(self, user: str, messages: list[bytes]) -> float:
        """``append`` in a thread."""
        return await asyncio.to_thread(self.append, user, messages)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def make_cert(root: Path, names: str) -> Path:
    """A self-signed cert/key pair (cert.pem, key.pem) for the given subjectAltName."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=sbwatch-test", "-addext", f"subjectAltName={names}",
            "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return root / "cert.pem"


def make_email(
    index: int, *, kind_subject: str = "Your project is depleting its Disk IO Budget"
) -> bytes:
    """A provider warning email with a unique Message-ID, signed by supabase.com's test key."""
    return sign(_unsigned(index, kind_subject))


def _unsigned(index: int, kind_subject: str) -> bytes:
    return (
        "Authentication-Results: mx.example.net; dkim=pass header.d=supabase.com; "
        "spf=pass smtp.mailfrom=supabase.com\r\n"
        "From: Supabase <noreply@supabase.com>\r\nTo: ops@example.net\r\n"
        f"Subject: {kind_subject}\r\nDate: Wed, 20 May 2026 09:14:50 +0000\r\n"
        f"Message-ID: <m{index}-{time.time_ns()}@supabase.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "This implies that your project is utilizing more Disk IO than what your compute add-on "
        "can effectively manage.\r\n"
        "https://supabase.com/dashboard/project/kqwmzrtplvbnhxcydsfa\r\n"
    ).encode()


async def wait_until(predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Wait for a condition with a deadline (polling every 10 ms)."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 -- conditions live in other processes
            await asyncio.sleep(0.01)


@dataclass
class Harness:
    """Starts MailWatchers on a store and collects what they deliver; cancels them at the end."""

    store: SqliteStore
    metrics: Metrics = field(default_factory=Metrics)
    received: list[ProviderEmail] = field(default_factory=list)
    arrived_at: list[float] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def on_email(self, email: ProviderEmail) -> None:
        """Collect one delivered email."""
        self.received.append(email)
        self.arrived_at.append(time.perf_counter())

    def watcher(
        self, settings: dict[str, Any], clock: Clock | None = None, **kw: Any
    ) -> MailWatcher:
        """A watcher for these settings (fast backoff unless given)."""
        kw.setdefault("backoff_base_s", 0.05)
        kw.setdefault("backoff_max_s", 0.5)
        kw.setdefault("timeout_s", 5.0)
        kw.setdefault("rule", TrustRule(("supabase.com",), None, DnsStub().publish("supabase.com")))
        return MailWatcher(
            MailSettings(**settings),
            self.store,
            clock=clock or SystemClock(),
            metrics=self.metrics,
            on_email=self.on_email,
            **kw,
        )

    def start(self, watcher: MailWatcher) -> asyncio.Task[None]:
        """Run a watcher in the background."""
        task = asyncio.create_task(watcher.run())
        self.tasks.append(task)
        return task

    async def stop(self, task: asyncio.Task[None]) -> None:
        """Cancel a watcher and check it ended by cancellation only."""
        task.cancel()
        async with asyncio.timeout(15):  # a watcher that swallows its cancellation fails here
            results = await asyncio.gather(task, return_exceptions=True)
        assert isinstance(results[0], asyncio.CancelledError)

    def count(self, outcome: str, kind: str = "io_budget_warning") -> float:
        """sbwatch_emails_total for (kind, outcome)."""
        value = self.metrics.registry.get_sample_value(
            "sbwatch_emails_total", {"kind": kind, "outcome": outcome}
        )
        return value or 0.0


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    """A plain-IMAP Dovecot of its own for one test (restartable)."""
    with tempfile.TemporaryDirectory(prefix="sbw-dovecot-") as tmp:
        server = Dovecot(Path(tmp))
        server.start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[tuple[Dovecot, Path]]:
    """A Dovecot with STARTTLS and IMAPS whose certificate names only ``localhost``."""
    with tempfile.TemporaryDirectory(prefix="sbw-dovecot-tls-") as tmp:
        root = Path(tmp)
        cert = make_cert(root, "DNS:localhost")
        server = Dovecot(root, tls=True)
        server.start()
        try:
            yield server, cert
        finally:
            server.stop()


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    """A Harness on a fresh SQLite store; every watcher still running is cancelled at the end."""
    store = SqliteStore(tmp_path / "state.db")
    await store.open()
    harness = Harness(store)
    try:
        yield harness
    finally:
        for task in harness.tasks:
            task.cancel()
        await asyncio.gather(*harness.tasks, return_exceptions=True)
        await store.close()


@pytest.fixture(name="make_email")
def make_email_fixture() -> Callable[..., bytes]:
    """The provider email factory."""
    return make_email
