"""MailWatcher against a real Dovecot: push, restarts, UIDVALIDITY, first start, auth, TLS."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from structlog.testing import capture_logs
from tests.dkimtest import DnsStub

from sbwatch.cli import main
from sbwatch.core.clock import VirtualClock
from sbwatch.core.errors import MailError
from sbwatch.ingest.imap import NAMESPACE
from sbwatch.ingest.parse import TrustRule
from sbwatch.ingest.session import ImapSession

pytestmark = pytest.mark.integration


def emails(make_email: Any, start: int, count: int) -> list[bytes]:
    """``count`` distinct provider emails."""
    return [make_email(i) for i in range(start, start + count)]


async def test_push_delivers_new_mail(dovecot: Any, harness: Any, make_email: Any) -> None:
    """An APPEND reaches on_email through IDLE; the latency is measured, not asserted."""
    user = dovecot.add_user()
    watcher = harness.watcher(dovecot.settings(user))
    harness.start(watcher)
    await wait_cursor(harness, watcher)
    sent = time.perf_counter()
    await dovecot.aappend(user, [make_email(1)])
    await wait_for(lambda: len(harness.received) == 1)
    print(f"push latency {harness.arrived_at[0] - sent:.3f}s")
    assert (True, 1.0) == (harness.received[0].trusted, harness.count("trusted"))


async def test_dns_failure_still_records_the_email(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """When the DKIM key lookup fails the email is recorded and delivered, untrusted, said why."""
    dns = DnsStub(error=OSError("no nameserver answered"))
    user = dovecot.add_user()
    watcher = harness.watcher(dovecot.settings(user), rule=TrustRule(("supabase.com",), None, dns))
    harness.start(watcher)
    await wait_cursor(harness, watcher)
    await dovecot.aappend(user, [make_email(1)])
    await wait_for(lambda: len(harness.received) == 1)
    reason = "DKIM key lookup failed: test._domainkey.supabase.com: no nameserver answered"
    assert (False, reason, 1.0) == (
        harness.received[0].trusted,
        harness.received[0].trust_reason,
        harness.count("untrusted"),
    )


async def test_restarts_mid_idle_lose_and_double_nothing(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """100 messages appended across four server restarts arrive once each."""
    user = dovecot.add_user()
    watcher = harness.watcher(dovecot.settings(user))
    harness.start(watcher)
    await wait_cursor(harness, watcher)
    for round_ in range(4):
        await dovecot.aappend(user, emails(make_email, round_ * 25, 20))
        expected = round_ * 25 + 10
        await wait_for(lambda: len(harness.received) >= expected)  # noqa: B023 -- awaited here
        dovecot.stop()
        dovecot.start()
        await dovecot.aappend(user, emails(make_email, round_ * 25 + 20, 5))
    await wait_for(lambda: len(harness.received) == 100, 60)
    ids = [e.message_id for e in harness.received]
    assert (100, 100, 0.0) == (len(ids), len(set(ids)), harness.count("duplicate"))


async def test_watcher_restart_resumes_from_cursor(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """A watcher restarted on the same store neither misses nor repeats a message."""
    user = dovecot.add_user()
    first = harness.watcher(dovecot.settings(user))
    task = harness.start(first)
    await wait_cursor(harness, first)
    await dovecot.aappend(user, emails(make_email, 0, 10))
    await wait_for(lambda: len(harness.received) == 10)
    await harness.stop(task)
    await dovecot.aappend(user, emails(make_email, 10, 10))
    harness.start(harness.watcher(dovecot.settings(user)))
    await wait_for(lambda: len(harness.received) == 20)
    await asyncio.sleep(0.3)  # give a wrongly repeating watcher the chance to show itself
    ids = [e.message_id for e in harness.received]
    assert (20, 20, 0.0) == (len(ids), len(set(ids)), harness.count("duplicate"))


async def test_uidvalidity_change_resets_to_newest(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """After UIDVALIDITY changes, old mail is not reprocessed and new mail still arrives."""
    user = dovecot.add_user()
    watcher = harness.watcher(dovecot.settings(user))
    task = harness.start(watcher)
    await wait_cursor(harness, watcher)
    await dovecot.aappend(user, emails(make_email, 0, 3))
    await wait_for(lambda: len(harness.received) == 3)
    await harness.stop(task)
    before = await harness.store.get_state(NAMESPACE, watcher.key)
    dovecot.stop()
    await asyncio.sleep(1.1)  # UIDVALIDITY is a timestamp: make sure the new one differs
    for index in dovecot.maildir(user).glob("dovecot*"):
        index.unlink()  # the uidlist and the indexes, which also remember UIDVALIDITY
    dovecot.start()
    second = harness.watcher(dovecot.settings(user))
    harness.start(second)
    await wait_for(lambda: bool(harness.tasks))
    await wait_until_state(harness, second, lambda s: s["uidvalidity"] != before["uidvalidity"])
    await dovecot.aappend(user, [make_email(99)])
    await wait_for(lambda: len(harness.received) == 4)
    after = await harness.store.get_state(NAMESPACE, second.key)
    assert (4, 0.0, 4) == (len(harness.received), harness.count("duplicate"), after["last_uid"])


async def test_an_unreadable_cursor_starts_at_the_newest(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """A stored cursor that does not read (written by hand) is taken as a changed mailbox:
    even with backfill the old mail is not read again, and the cursor is written anew."""
    user = dovecot.add_user()
    dovecot.write_maildir(user, [make_email_bytes(i) for i in range(3)])
    watcher = harness.watcher(dovecot.settings(user, backfill=True))
    await harness.store.put_state(NAMESPACE, watcher.key, {"last_uid": "x"})
    harness.start(watcher)
    await wait_until_state(harness, watcher, lambda s: "uidvalidity" in s)
    await asyncio.sleep(0.2)  # the IDLE command is sent right after
    await dovecot.aappend(user, [make_email(9)])
    await wait_for(lambda: len(harness.received) == 1)
    state = await harness.store.get_state(NAMESPACE, watcher.key)
    assert (1, 4) == (len(harness.received), state["last_uid"])


async def test_first_start_skips_old_mail(dovecot: Any, harness: Any, make_email: Any) -> None:
    """With 10,000 old messages the cursor starts at the newest; only new mail is delivered.
    (The old ones are never read: unsigned, they cost no DKIM signing to write.)"""
    user = dovecot.add_user()
    dovecot.write_maildir(user, [make_email_bytes(i) for i in range(10_000)])
    watcher = harness.watcher(dovecot.settings(user))
    harness.start(watcher)
    await wait_cursor(harness, watcher, deadline_s=60)
    state = await harness.store.get_state(NAMESPACE, watcher.key)
    await dovecot.aappend(user, [make_email(10_001)])
    await wait_for(lambda: len(harness.received) == 1)
    assert 10_000 == state["last_uid"]


async def test_backfill_reads_everything_in_batches(
    dovecot: Any, harness: Any, make_email: Any
) -> None:
    """With backfill the existing messages are all delivered (across several fetch batches)."""
    user = dovecot.add_user()
    dovecot.write_maildir(user, emails(make_email, 0, 120))
    harness.start(harness.watcher(dovecot.settings(user, backfill=True)))
    await wait_for(lambda: len(harness.received) == 120, 30)
    assert 120 == len({e.message_id for e in harness.received})


class RecordingClock(VirtualClock):
    """A virtual clock that remembers every sleep."""

    def __init__(self) -> None:
        super().__init__()
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        """Record, then advance."""
        self.sleeps.append(seconds)
        await super().sleep(seconds)


async def test_wrong_password_backs_off(dovecot: Any, harness: Any) -> None:
    """A wrong password logs a clear error and retries with capped backoff, never a tight loop."""
    user = dovecot.add_user()
    clock = RecordingClock()
    settings = dovecot.settings(user, password="wrong-pass")
    watcher = harness.watcher(settings, clock, backoff_base_s=1.0, backoff_max_s=300.0)
    with capture_logs() as logs:
        task = harness.start(watcher)
        try:
            await wait_for(lambda: clock.elapsed >= 3600, 60)
        finally:
            await harness.stop(task)
    refused = [e for e in logs if e["event"] == "mail login refused"]
    in_first_hour = sum(1 for i in range(len(clock.sleeps)) if sum(clock.sleeps[:i]) < 3600)
    print(
        "login attempts in a virtual hour:",
        in_first_hour,
        "sleeps:",
        [round(x) for x in clock.sleeps],
    )
    assert (True, True, True) == (
        in_first_hour <= 32,  # jittered 1 s..300 s backoff allows at most 32 in an hour
        min(clock.sleeps) >= 0.5 and max(clock.sleeps) <= 300,
        "login refused for user" in refused[0]["error"],
    )
    assert False is any("wrong-pass" in str(e) for e in logs)


async def test_check_reports_mailbox(dovecot: Any, harness: Any, make_email: Any) -> None:
    """check() reports message count, UIDVALIDITY and IDLE support."""
    user = dovecot.add_user()
    await dovecot.aappend(user, emails(make_email, 0, 3))
    report = await harness.watcher(dovecot.settings(user)).check()
    assert (3, 4, True, True) == (
        report.messages,
        report.uidnext,
        report.idle,
        report.uidvalidity > 0,
    )


async def test_flag_processed_marks_seen(dovecot: Any, harness: Any, make_email: Any) -> None:
    """flag_processed adds \\Seen to handled messages (and deletes nothing)."""
    user = dovecot.add_user()
    harness.start(harness.watcher(dovecot.settings(user, flag_processed=True)))
    await asyncio.sleep(0.3)
    await dovecot.aappend(user, [make_email(1)])
    await wait_for(lambda: len(harness.received) == 1)
    await wait_for(lambda: any((dovecot.maildir(user) / "cur").glob("*:2,*S*")), 10)
    assert 1 == len(list((dovecot.maildir(user) / "cur").iterdir()))


@pytest.mark.parametrize(
    ("security", "host", "extra", "ok"),
    [
        ("tls", "127.0.0.1", {}, False),
        ("tls", "127.0.0.1", {"ca": True}, False),
        ("tls", "localhost", {"ca": True}, True),
        ("tls", "127.0.0.1", {"verify_tls": False}, True),
        ("starttls", "localhost", {}, False),
        ("starttls", "localhost", {"ca": True}, True),
    ],
)
async def test_tls_verification(
    tls_dovecot: Any, harness: Any, security: str, host: str, extra: dict[str, Any], ok: bool
) -> None:
    """Self-signed or mismatched certificates are refused unless ca_file or verify_tls=false."""
    server, cert = tls_dovecot
    user = server.add_user()
    port = server.port + 1 if security == "tls" else server.port
    settings = server.settings(user, security=security, host=host, port=port)
    if extra.pop("ca", False):
        settings["ca_file"] = cert
    settings.update(extra)
    watcher = harness.watcher(settings)
    try:
        report = await watcher.check()
        outcome = report.mailbox == "INBOX"
    except MailError as exc:
        print(security, host, extra, exc)
        outcome = False
    assert ok == outcome


async def wait_for(predicate: Any, deadline_s: float = 20.0) -> None:
    """Poll a condition with a deadline."""
    async with asyncio.timeout(deadline_s):
        while not predicate():  # noqa: ASYNC110 -- conditions live in other processes
            await asyncio.sleep(0.01)


async def wait_cursor(harness: Any, watcher: Any, deadline_s: float = 20.0) -> None:
    """Wait until the watcher stored its cursor (it is selected and about to IDLE)."""
    await wait_until_state(harness, watcher, lambda s: True, deadline_s)
    await asyncio.sleep(0.2)  # the IDLE command is sent right after


async def wait_until_state(
    harness: Any, watcher: Any, check: Any, deadline_s: float = 20.0
) -> None:
    """Wait until the stored cursor satisfies ``check``."""
    async with asyncio.timeout(deadline_s):
        while True:
            state = await harness.store.get_state(NAMESPACE, watcher.key)
            if state is not None and check(state):
                return
            await asyncio.sleep(0.02)


def test_cli_mail_check(dovecot: Any, tmp_path: Any, capsys: Any) -> None:
    """``sbwatch mail check`` logs in with the configured mailbox and reports it."""
    user = dovecot.add_user()
    dovecot.append(user, [make_email_bytes(1)])
    config = tmp_path / "config.toml"
    config.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        f'[mail]\nenabled = true\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
        f'security = "plain"\nusername = "{user}"\npassword = "secret"\n'
    )
    code = main(["--config", str(config), "mail", "check", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert (0, 1, True) == (code, data["messages"], data["idle"])


def make_email_bytes(index: int) -> bytes:
    """A minimal provider email."""
    return (
        "From: noreply@supabase.com\r\nSubject: high CPU usage\r\n"
        f"Message-ID: <c{index}@x>\r\n\r\nhi\r\n"
    ).encode()


async def test_poll_fallback_without_idle(
    dovecot: Any, harness: Any, make_email: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the server offers no IDLE the watcher polls at poll_interval and still delivers."""
    monkeypatch.setattr(ImapSession, "supports_idle", property(lambda self: False))
    user = dovecot.add_user()
    watcher = harness.watcher(dovecot.settings(user, poll_interval="1s"))
    with capture_logs() as logs:
        harness.start(watcher)
        await wait_cursor(harness, watcher)
        await dovecot.aappend(user, [make_email(1)])
        await wait_for(lambda: len(harness.received) == 1)
    watching = [e for e in logs if e["event"] == "mail watching"]
    assert False is watching[0]["idle"]


async def test_a_stop_during_a_call_that_turns_it_into_an_error_still_stops(
    harness: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library call that answers a cancellation with an error of its own (a timeout racing
    the stop): the watcher stops instead of logging in again for ever."""
    connecting = asyncio.Event()

    async def connect(self: Any) -> None:
        connecting.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise MailError("timed out", transient=True) from None

    monkeypatch.setattr(ImapSession, "connect", connect)
    settings = {"enabled": True, "host": "127.0.0.1", "port": 1, "username": "u", "password": "p"}
    task = harness.start(harness.watcher(settings))
    await asyncio.wait_for(connecting.wait(), 5)
    await harness.stop(task)
