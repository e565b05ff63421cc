"""Provider emails: RFC 822 shape, trust headers, and delivery to a real Dovecot by IMAP APPEND."""

from __future__ import annotations

import asyncio
import contextlib
import email
import shutil
import socket
import subprocess
import tempfile
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.message import Message
from pathlib import Path

import aioimaplib
import dkim
import pytest
from tests.dkimtest import DnsStub

from sbwatch.config.settings import MailSettings
from sbwatch.core.errors import MailError
from sbwatch.ingest.parse import parse_email, rule_from_settings
from sbwatch.sim.emails import TEMPLATES, build_email, deliver_imap, dns_txt
from sbwatch.sim.serve import MailTarget, mail_snippet

from .conftest import REF

AT = datetime(2026, 5, 21, 8, 30, tzinfo=UTC)


def _text(message: Message) -> str:
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@pytest.mark.parametrize("template", list(TEMPLATES))
def test_email_headers_and_body(template: str) -> None:
    """Each template is a multipart message from supabase.com with the ref and dashboard link."""
    message = email.message_from_bytes(build_email(template, REF, at=AT, to="ops@example.test"))
    assert TEMPLATES[template][0] == message["Subject"]
    assert "noreply@supabase.com" in message["From"]
    assert ("ops@example.test", "multipart/alternative") == (
        message["To"],
        message.get_content_type(),
    )
    assert message["Message-ID"].endswith("@supabase.com>")
    assert AT == email.utils.parsedate_to_datetime(message["Date"])
    assert "dkim=pass header.d=supabase.com" in message["Authentication-Results"]
    body = _text(message)
    assert REF in body
    assert f"https://supabase.com/dashboard/project/{REF}" in body


def test_warning_uses_the_provider_wording() -> None:
    """The warning email begins with the sentence users quoted."""
    body = _text(email.message_from_bytes(build_email("io_budget_warning", REF, at=AT)))
    assert (
        "This implies that your project is utilizing more Disk IO than what your compute add-on"
        in body
    )


def test_spoofed_is_unsigned_and_claims_a_pass() -> None:
    """A spoofed message has no DKIM signature but an Authentication-Results claiming a pass."""
    message = email.message_from_bytes(build_email("io_budget_exhausted", REF, at=AT, spoofed=True))
    results = message["Authentication-Results"]
    assert (None, True) == (message["DKIM-Signature"], "dkim=pass" in results)


def test_genuine_is_signed_and_verifies_in_the_world_dns() -> None:
    """A genuine message is signed by supabase.com; its key is in the simulated DNS only."""
    raw = build_email("io_budget_warning", REF, at=AT)
    assert True is dkim.verify(raw, dnsfunc=dns_txt)
    assert False is dkim.verify(raw.replace(b"Disk IO", b"disk io"), dnsfunc=dns_txt)


def test_unknown_template_refused() -> None:
    """Only the known templates exist."""
    with pytest.raises(ValueError, match="unknown email template"):
        build_email("newsletter", REF, at=AT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
async def dovecot() -> AsyncIterator[int]:
    """A private Dovecot on a free loopback port with user ops / secret."""
    base = Path(tempfile.mkdtemp(prefix="sbwatch-dovecot-"))
    base.chmod(0o755)  # noqa: ASYNC240 - setup; the auth and mail processes run as dovecot
    port = _free_port()
    (base / "home").mkdir()
    (base / "users").write_text("ops:{PLAIN}secret\n")
    (base / "dovecot.conf").write_text(
        f"""listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = {base}/users
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={base}/home/%u
}}
mail_location = maildir:{base}/home/%u/Maildir
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
}}
"""
    )
    shutil.chown(base / "home", "dovecot", "dovecot")
    process = subprocess.Popen(["dovecot", "-c", str(base / "dovecot.conf"), "-F"])  # noqa: ASYNC220 - starts at once
    try:
        async with asyncio.timeout(15):
            while True:
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    await writer.wait_closed()
                    break
                await asyncio.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(base, ignore_errors=True)


async def _fetch_all(port: int) -> list[bytes | bytearray]:
    client = aioimaplib.IMAP4(host="127.0.0.1", port=port, timeout=10)
    await client.wait_hello_from_server()
    await client.login("ops", "secret")
    await client.select("INBOX")
    fetched = await client.fetch("1:*", "(RFC822)")
    await client.logout()
    return [
        line
        for line in fetched.lines
        if isinstance(line, bytes | bytearray) and b"Subject:" in line
    ]


@pytest.mark.integration
async def test_deliver_imap_appends_to_dovecot(dovecot: int) -> None:
    """deliver_imap APPENDs the message; a fresh IMAP session reads it back."""
    raw = build_email("io_budget_warning", REF, at=AT)
    await deliver_imap(raw, "127.0.0.1", dovecot, "ops", "secret")
    messages = await _fetch_all(dovecot)
    assert 1 == len(messages)
    assert (
        "Your project is depleting its Disk IO Budget"
        == email.message_from_bytes(bytes(messages[0]))["Subject"]
    )


@pytest.mark.integration
async def test_deliver_imap_bad_password(dovecot: int) -> None:
    """A refused login is a permanent MailError."""
    with pytest.raises(MailError) as caught:
        await deliver_imap(b"Subject: x\r\n\r\nx\r\n", "127.0.0.1", dovecot, "ops", "wrong")
    assert False is caught.value.transient


async def test_deliver_imap_unreachable() -> None:
    """Nobody listening is a transient MailError."""
    with pytest.raises(MailError) as caught:
        await deliver_imap(b"Subject: x\r\n\r\nx\r\n", "127.0.0.1", _free_port(), "ops", "secret")
    assert True is caught.value.transient


def test_served_mail_settings_pin_the_sim_key() -> None:
    """The [mail] that sim serve prints trusts a genuine sim email with no DNS at all."""
    target = MailTarget("127.0.0.1", 1143, "ops", "secret")
    mail = MailSettings(**tomllib.loads("\n".join(mail_snippet(target)))["mail"])
    rule = rule_from_settings(mail, dns=DnsStub(error=OSError("no DNS here")))
    genuine = parse_email(build_email("io_budget_warning", REF, at=AT), rule, fallback_time=AT)
    spoofed = parse_email(
        build_email("io_budget_warning", REF, at=AT, spoofed=True), rule, fallback_time=AT
    )
    assert (True, False) == (genuine and genuine.trusted, spoofed and spoofed.trusted)
