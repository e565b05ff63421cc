"""sbwatch's own DKIM verification decides trust when no authserv-id is configured."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.dkimtest import DnsStub, sign, signing_key

from sbwatch.ingest.dkim import aligned, pinned
from sbwatch.ingest.parse import DEFAULT_RULE, TrustRule, explain, parse_email

FALLBACK = datetime(2026, 1, 1, tzinfo=UTC)
DOMAINS = ("supabase.com", "supabase.io")
FORGED = "Authentication-Results: mx.google.com; dkim=pass header.d=supabase.com\r\n"


def message(
    sender: str = "noreply@supabase.com",
    subject: str = "Your project is depleting its Disk IO Budget",
    body: str = "This implies that your project is utilizing more Disk IO.\r\n",
) -> bytes:
    """A plain provider-looking email."""
    return (
        f"From: Supabase <{sender}>\r\nTo: ops@example.net\r\nSubject: {subject}\r\n"
        "Date: Wed, 20 May 2026 09:14:50 +0000\r\nMessage-ID: <m1@supabase.com>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def rule(dns: DnsStub) -> TrustRule:
    """The default rule, with keys from ``dns``."""
    return TrustRule(DOMAINS, None, dns)


def verdict(raw: bytes, dns: DnsStub) -> tuple[bool, str]:
    """(trusted, reason) of ``raw``."""
    email = parse_email(raw, rule(dns), fallback_time=FALLBACK)
    assert email is not None
    return email.trusted, email.trust_reason


def test_good_signature_from_the_provider_is_trusted() -> None:
    """A valid signature with d=supabase.com, From supabase.com: trusted."""
    dns = DnsStub().publish("supabase.com")
    expected = (True, "DKIM signature d=supabase.com verified by sbwatch")
    assert expected == verdict(sign(message()), dns)
    assert ["test._domainkey.supabase.com"] == dns.asked


def test_from_a_subdomain_of_the_signer_is_aligned() -> None:
    """Relaxed alignment: From noreply@mail.supabase.com under d=supabase.com is trusted."""
    dns = DnsStub().publish("supabase.com")
    assert True is verdict(sign(message("noreply@mail.supabase.com")), dns)[0]


def test_signed_headers_reused_on_another_message_fail() -> None:
    """A genuine signature pasted on top of another message (new subject and body) fails."""
    dns = DnsStub().publish("supabase.com")
    genuine = sign(message())
    signature = genuine[: genuine.index(b"From:")]
    forged = signature + message(
        subject="Your project has depleted its Disk IO Budget", body="Upgrade now.\r\n"
    )
    trusted, reason = verdict(forged, dns)
    assert (False, True) == (trusted, reason.startswith("DKIM signature d=supabase.com fails"))


def test_changed_from_after_signing_fails() -> None:
    """The From header rewritten after signing (still in supabase.com) breaks the signature."""
    dns = DnsStub().publish("supabase.com")
    raw = sign(message()).replace(b"noreply@supabase.com", b"billing@supabase.com")
    expected = (False, "DKIM signature d=supabase.com fails: the signature does not verify")
    assert expected == verdict(raw, dns)


def test_body_changed_after_signing_is_untrusted() -> None:
    """A body altered after signing: body hash mismatch, untrusted."""
    dns = DnsStub().publish("supabase.com")
    raw = sign(message()).replace(b"utilizing more", b"utilizing much more")
    expected = (False, "DKIM signature d=supabase.com fails: body hash mismatch")
    assert expected == verdict(raw, dns)


def test_unsigned_with_forged_results_is_untrusted_by_default() -> None:
    """An unsigned message claiming dkim=pass in Authentication-Results: untrusted."""
    found = explain(FORGED.encode() + message(), DEFAULT_RULE, FALLBACK)
    assert found is not None
    expected = (False, "no DKIM signature", ())
    assert expected == (found.email.trusted, found.email.trust_reason, found.auth_headers_used)
    assert "Authentication-Results by mx.google.com not used (dkim=pass)" in found.reasons


def test_signer_not_aligned_with_from_is_untrusted() -> None:
    """d=evil.com on a From in supabase.com: untrusted, and evil.com's key is not even fetched."""
    dns = DnsStub().publish("evil.com")
    expected = (
        False,
        "DKIM signature d=evil.com does not align with From domain supabase.com",
    )
    assert expected == verdict(FORGED.encode() + sign(message(), "evil.com"), dns)
    assert [] == dns.asked


def test_aligned_but_untrusted_domain_is_untrusted() -> None:
    """d=supabase-alerts.com with From in it: a good signature, but not the provider."""
    dns = DnsStub().publish("supabase-alerts.com")
    raw = sign(message("noreply@supabase-alerts.com"), "supabase-alerts.com")
    expected = (
        False,
        "DKIM signature d=supabase-alerts.com aligns with From but is not a trusted domain",
    )
    assert expected == verdict(raw, dns)


def test_dns_failure_is_untrusted_and_said() -> None:
    """A key lookup that fails: untrusted, the reason names the lookup and its error."""
    dns = DnsStub(error=TimeoutError("The DNS operation timed out"))
    expected = (
        False,
        "DKIM key lookup failed: test._domainkey.supabase.com: The DNS operation timed out",
    )
    assert expected == verdict(sign(message()), dns)


def test_no_key_published_is_untrusted() -> None:
    """No TXT record at the selector: untrusted, said so."""
    expected = (
        False,
        "DKIM key lookup failed: test._domainkey.supabase.com: no DKIM key published",
    )
    assert expected == verdict(sign(message()), DnsStub())


def test_a_key_of_another_signer_fails() -> None:
    """A signature made with a key other than the published one does not verify."""
    other = DnsStub(records={"test._domainkey.supabase.com": b"v=DKIM1; k=rsa; p=" + b"A" * 40})
    assert False is verdict(sign(message()), other)[0]


def test_offline_rule_records_untrusted() -> None:
    """A rule whose lookups ran out of time still classifies the email, untrusted."""
    dns = DnsStub().publish("supabase.com")
    email = parse_email(
        sign(message()), rule(dns).offline("no answer within 10 s"), fallback_time=FALLBACK
    )
    assert email is not None
    expected = (
        False,
        "DKIM key lookup failed: test._domainkey.supabase.com: no answer within 10 s",
    )
    assert expected == (email.trusted, email.trust_reason)


def test_any_passing_signature_of_several_counts() -> None:
    """A foreign signature on top (an email service's) and the provider's below: trusted."""
    dns = DnsStub().publish("supabase.com")
    raw = sign(sign(message()), "mailer.example")
    trusted, reason = verdict(raw, dns)
    assert (True, "DKIM signature d=supabase.com verified by sbwatch") == (trusted, reason)


def test_pinned_keys_answer_before_dns() -> None:
    """A pinned record answers its name; other names go to the fallback lookup."""
    fallback = DnsStub()
    lookup = pinned({"Test._domainkey.supabase.com.": signing_key().record.decode()}, fallback)
    assert (signing_key().record, None) == (
        lookup(b"test._domainkey.supabase.com.", timeout=1),
        lookup(b"x._domainkey.other.example.", timeout=1),
    )
    assert ["x._domainkey.other.example"] == fallback.asked


def test_alignment() -> None:
    """Equal or a subdomain of d= aligns; a parent or a look-alike does not."""
    cases = [
        ("supabase.com", "supabase.com"),
        ("mail.supabase.com", "supabase.com"),
        ("supabase.com", "mail.supabase.com"),
        ("evilsupabase.com", "supabase.com"),
        ("supabase.com", ""),
    ]
    assert [True, True, False, False, False] == [aligned(f, d) for f, d in cases]
