"""A DKIM key made with openssl at test time, a signer, and a DNS stub that publishes it."""

from __future__ import annotations

import base64
import functools
import subprocess
from dataclasses import dataclass, field

import dkim

SELECTOR = "test"
SIGNED = [b"from", b"to", b"subject", b"date", b"message-id"]


@dataclass(frozen=True)
class SigningKey:
    """An RSA private key (PEM) and its DKIM record."""

    private_pem: bytes
    public_b64: str

    @property
    def record(self) -> bytes:
        """The TXT record value of this key."""
        return f"v=DKIM1; k=rsa; p={self.public_b64}".encode()


@functools.cache
def signing_key() -> SigningKey:
    """One 2048-bit key for the whole run (openssl; generating one takes a moment)."""
    pem = subprocess.run(
        ["openssl", "genrsa", "-traditional", "2048"], check=True, capture_output=True
    ).stdout
    der = subprocess.run(
        ["openssl", "rsa", "-pubout", "-outform", "DER"],
        input=pem,
        check=True,
        capture_output=True,
    ).stdout
    return SigningKey(pem, base64.b64encode(der).decode())


def sign(raw: bytes, domain: str = "supabase.com", key: SigningKey | None = None) -> bytes:
    """``raw`` with a DKIM-Signature by ``domain`` (selector ``test``) on top."""
    signer = key or signing_key()
    header = dkim.sign(
        raw, SELECTOR.encode(), domain.encode(), signer.private_pem, include_headers=SIGNED
    )
    return bytes(header) + raw


@dataclass
class DnsStub:
    """TXT records by name; records the names looked up; optionally fails every lookup."""

    records: dict[str, bytes] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    error: Exception | None = None

    def publish(self, domain: str, key: SigningKey | None = None) -> DnsStub:
        """Publish the key of ``domain`` (selector ``test``)."""
        self.records[f"{SELECTOR}._domainkey.{domain}"] = (key or signing_key()).record
        return self

    def __call__(self, name: bytes, timeout: float = 5.0) -> bytes | None:
        """The dkimpy ``dnsfunc``."""
        shown = name.decode().rstrip(".")
        self.asked.append(shown)
        if self.error is not None:
            raise self.error
        return self.records.get(shown)
