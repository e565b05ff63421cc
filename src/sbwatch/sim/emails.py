"""The provider's notification emails as RFC 822 bytes, and their delivery to an IMAP mailbox.

Genuine emails carry the simulated provider's DKIM signature (its key is in ``dkim_key``, its
record in the simulated DNS, ``dns_txt``); spoofed ones are unsigned. Both carry an
Authentication-Results header claiming a pass, as a forger would write.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

import aioimaplib

from sbwatch.core.errors import MailError
from sbwatch.sim import dkim_key

SENDER = "Supabase <noreply@supabase.com>"
TRUSTED_RESULTS = (
    "mx.sbwatch.test; dkim=pass header.d=supabase.com; spf=pass smtp.mailfrom=supabase.com"
)
SPOOFED_RESULTS = TRUSTED_RESULTS
"""A forger writes the pass it wants read: only a verified signature tells the two apart."""
SIGNED_HEADERS = (b"from", b"to", b"subject", b"date", b"message-id", b"x-supabase-project-ref")
TEMPLATES: dict[str, tuple[str, str]] = {
    "io_budget_warning": (
        "Your project is depleting its Disk IO Budget",
        "This implies that your project is utilizing more Disk IO than what your compute add-on "
        "can effectively manage. Your project is about to deplete its Disk IO Budget: once it is "
        "used up, disk throughput is throttled to the baseline of your compute size and the "
        "project may become unresponsive. Consider upgrading your compute add-on.",
    ),
    "io_budget_exhausted": (
        "Your project has depleted its Disk IO Budget",
        "Your project has depleted its Disk IO Budget. This implies that your project is utilizing "
        "more Disk IO than what your compute add-on can effectively manage. Disk throughput is now "
        "throttled to the baseline of your compute size.",
    ),
    "cpu_warning": (
        "Your project is experiencing high CPU usage",
        "Your project is experiencing high CPU usage. Sustained high CPU usage can slow down "
        "queries and make the project unresponsive. Consider upgrading your compute add-on.",
    ),
    "other": (
        "Your Supabase invoice is available",
        "Your monthly invoice is now available in the billing section of your organization.",
    ),
}


def dashboard_url(ref: str) -> str:
    """The dashboard link of a project."""
    return f"https://supabase.com/dashboard/project/{ref}"


def build_email(
    template: str,
    ref: str,
    *,
    at: datetime,
    spoofed: bool = False,
    to: str = "ops@sbwatch.test",
) -> bytes:
    """One provider email as RFC 822 bytes, DKIM-signed; ``spoofed`` leaves it unsigned."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    subject, paragraph = TEMPLATES[template]
    link = dashboard_url(ref)
    message = EmailMessage()
    message["Authentication-Results"] = SPOOFED_RESULTS if spoofed else TRUSTED_RESULTS
    message["From"] = SENDER
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(at)
    message["Message-ID"] = make_msgid(idstring=f"{template}.{ref}", domain="supabase.com")
    message["X-Supabase-Project-Ref"] = ref
    text = (
        f"Hi there,\n\n{paragraph}\n\nProject: {ref}\n"
        f"Open the project in the dashboard: {link}\n\nThe Supabase team\n"
    )
    html = (
        f"<html><body><p>Hi there,</p><p>{paragraph}</p><p>Project: <b>{ref}</b></p>"
        f'<p><a href="{link}">Open the project in the dashboard</a></p>'
        "<p>The Supabase team</p></body></html>"
    )
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    raw = message.as_bytes(policy=SMTP)
    return raw if spoofed else sign(raw)


def sign(raw: bytes) -> bytes:
    """``raw`` with the simulated provider's DKIM-Signature on top."""
    import dkim  # here: dkimpy and dnspython cost the simulator's start a fifth of a second

    signature = dkim.sign(
        raw,
        dkim_key.SELECTOR.encode(),
        dkim_key.DOMAIN.encode(),
        dkim_key.PRIVATE_KEY,
        include_headers=list(SIGNED_HEADERS),
    )
    return bytes(signature) + raw


def dns_records() -> dict[str, str]:
    """The simulated DNS: the provider's DKIM record by name."""
    return {dkim_key.RECORD_NAME: dkim_key.RECORD}


def dns_txt(name: bytes, timeout: float = 5.0) -> bytes | None:
    """A TXT lookup in the simulated DNS (a dkimpy ``dnsfunc``): None for any other name."""
    found = dns_records().get(name.decode("ascii", "replace").rstrip(".").lower())
    return found.encode() if found is not None else None


async def deliver_imap(
    raw: bytes, host: str, port: int, user: str, password: str, mailbox: str = "INBOX"
) -> None:
    """APPEND one message to an IMAP mailbox (plain IMAP, for a loopback server)."""
    client = aioimaplib.IMAP4(host=host, port=port, timeout=10.0)
    try:
        await client.wait_hello_from_server()
        login = await client.login(user, password)
        if login.result != "OK":
            raise MailError("IMAP login refused", transient=False)
        appended = await client.append(raw, mailbox=mailbox)
        if appended.result != "OK":
            raise MailError(f"IMAP APPEND to {mailbox!r} refused", transient=False)
        await client.logout()
    except (OSError, TimeoutError) as exc:
        raise MailError(f"IMAP server {host}:{port} unreachable", transient=True) from exc
    finally:
        if client.protocol is not None and client.protocol.transport is not None:
            client.protocol.transport.close()
