"""Table tests of the email parser over the corpus in tests/data/emails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from sbwatch.core.results import EmailKind
from sbwatch.ingest.parse import DEFAULT_RULE, TrustRule, explain, parse_email

CORPUS = Path(__file__).resolve().parents[1] / "data" / "emails"
REF = "kqwmzrtplvbnhxcydsfa"
FALLBACK = datetime(2026, 1, 1, tzinfo=UTC)
RECEIVED = datetime(2026, 5, 20, 9, 15, 2, tzinfo=UTC)
RECEIVER_RULE = TrustRule(
    trusted_domains=("supabase.com", "supabase.io"), authserv_id="mx.example.net"
)

# file, kind, ref, trusted (the receiver's rule: Authentication-Results by mx.example.net)
TABLE = [
    ("io_budget_warning.eml", EmailKind.IO_BUDGET_WARNING, REF, True),
    ("io_budget_exhausted_html_qp.eml", EmailKind.IO_BUDGET_EXHAUSTED, REF, True),
    ("disk_space.eml", EmailKind.DISK_SPACE, REF, True),
    ("cpu.eml", EmailKind.CPU, REF, True),
    ("memory.eml", EmailKind.MEMORY, REF, True),
    ("read_only.eml", EmailKind.READ_ONLY, REF, True),
    ("io_budget_warning_base64_multipart.eml", EmailKind.IO_BUDGET_WARNING, REF, True),
    ("cpu_latin1.eml", EmailKind.CPU, REF, True),
    ("memory_encoded_subject.eml", EmailKind.MEMORY, REF, True),
    ("spoofed_dkim_fail.eml", EmailKind.IO_BUDGET_EXHAUSTED, REF, False),
    ("spoofed_lookalike.eml", EmailKind.IO_BUDGET_EXHAUSTED, REF, False),
    ("forged_authres_below.eml", EmailKind.IO_BUDGET_EXHAUSTED, REF, False),
    ("unrelated.eml", EmailKind.OTHER, None, False),
    ("no_message_id_no_dates.eml", EmailKind.IO_BUDGET_WARNING, None, False),
]


def load(name: str) -> bytes:
    """Read one corpus file."""
    return (CORPUS / name).read_bytes()


@pytest.mark.parametrize(("name", "kind", "ref", "trusted"), TABLE)
def test_corpus_kind_ref_trust(name: str, kind: EmailKind, ref: str | None, trusted: bool) -> None:
    """Each corpus email gets the expected kind, project ref and trust verdict by its receiver."""
    email = parse_email(load(name), RECEIVER_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert (kind, ref, trusted) == (email.kind, email.project_ref, email.trusted)


@pytest.mark.parametrize(("name", "kind", "ref", "trusted"), TABLE)
def test_corpus_unsigned_is_untrusted_by_default(
    name: str, kind: EmailKind, ref: str | None, trusted: bool
) -> None:
    """By default sbwatch verifies DKIM itself: no corpus email is signed, none is trusted,
    whatever its Authentication-Results headers claim."""
    email = parse_email(load(name), DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert (kind, False, "no DKIM signature") == (email.kind, email.trusted, email.trust_reason)


def test_every_corpus_file_is_in_the_table() -> None:
    """The table covers every file in the corpus."""
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(row[0] for row in TABLE)


def test_received_at_is_topmost_received() -> None:
    """received_at comes from the topmost Received header, in UTC."""
    email = parse_email(load("io_budget_warning.eml"), DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert RECEIVED == email.received_at


def test_received_at_falls_back() -> None:
    """With neither Received nor Date the fallback time is used."""
    email = parse_email(load("no_message_id_no_dates.eml"), DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert FALLBACK == email.received_at


def test_date_used_without_received() -> None:
    """Without Received the Date header gives the time."""
    raw = b"From: a@b.example\r\nDate: Tue, 19 May 2026 10:00:00 +0200\r\nSubject: x\r\n\r\nhi\r\n"
    email = parse_email(raw, DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert datetime(2026, 5, 19, 8, 0, tzinfo=UTC) == email.received_at


def test_message_id_and_hash() -> None:
    """Message-ID is kept; without one a stable hash of the bytes stands in."""
    first = parse_email(load("io_budget_warning.eml"), DEFAULT_RULE, fallback_time=FALLBACK)
    raw = load("no_message_id_no_dates.eml")
    a = parse_email(raw, DEFAULT_RULE, fallback_time=FALLBACK)
    b = parse_email(raw, DEFAULT_RULE, fallback_time=datetime(2027, 1, 1, tzinfo=UTC))
    assert first is not None
    assert a is not None
    assert b is not None
    assert "<warn-1@supabase.com>" == first.message_id
    assert (True, a.message_id) == (a.message_id.startswith("sha256:"), b.message_id)


def test_encoded_subject_is_decoded() -> None:
    """Encoded-word subjects are decoded."""
    email = parse_email(load("memory_encoded_subject.eml"), DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert "Your project is experiencing high memory usage \u26a0" == email.subject


def test_forged_header_below_is_ignored_and_explained() -> None:
    """A passing Authentication-Results by another server is not used, and the reasons say so."""
    found = explain(load("forged_authres_below.eml"), RECEIVER_RULE, FALLBACK)
    assert found is not None
    assert 1 == len(found.auth_headers_used)
    assert True is any("1 by others ignored" in r for r in found.reasons)


def test_default_rule_shows_headers_but_uses_none() -> None:
    """Without authserv_id no Authentication-Results counts; each is shown as not used."""
    found = explain(load("forged_authres_below.eml"), DEFAULT_RULE, FALLBACK)
    assert found is not None
    shown = [r for r in found.reasons if r.startswith("Authentication-Results by")]
    assert ((), 2, False) == (found.auth_headers_used, len(shown), found.email.trusted)


def test_forged_header_counts_only_when_its_server_is_named() -> None:
    """Naming the forger's authserv-id as the receiver trusts its header: the rule decides."""
    rule = TrustRule(trusted_domains=("supabase.com",), authserv_id="mx.attacker.example")
    email = parse_email(load("forged_authres_below.eml"), rule, fallback_time=FALLBACK)
    assert email is not None
    assert True is email.trusted


def test_lookalike_from_domain_untrusted() -> None:
    """A DKIM pass for a look-alike domain does not make the email trusted."""
    found = explain(load("spoofed_lookalike.eml"), RECEIVER_RULE, FALLBACK)
    assert found is not None
    assert ("no DKIM/SPF pass for a trusted domain", "noreply@supabase-alerts.com") == (
        found.email.trust_reason,
        found.email.sender,
    )


def test_trusted_dkim_but_foreign_from() -> None:
    """A DKIM pass for the provider with a From in another domain is untrusted."""
    raw = load("io_budget_warning.eml").replace(b"noreply@supabase.com", b"noreply@evil.example")
    email = parse_email(raw, RECEIVER_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert (False, True) == (email.trusted, "not trusted" in email.trust_reason)


def test_subdomain_dkim_is_trusted() -> None:
    """DKIM d= a subdomain of a trusted domain counts."""
    raw = load("io_budget_warning.eml").replace(
        b"header.d=supabase.com", b"header.d=mail.supabase.io"
    )
    raw = raw.replace(b"spf=pass", b"spf=fail")
    email = parse_email(raw, RECEIVER_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert (True, "dkim=pass header.d=mail.supabase.io (by mx.example.net)") == (
        email.trusted,
        email.trust_reason,
    )


def test_spf_alone_is_trusted() -> None:
    """An SPF pass for smtp.mailfrom in a trusted domain counts without DKIM."""
    raw = load("io_budget_warning.eml").replace(b"dkim=pass", b"dkim=none")
    email = parse_email(raw, RECEIVER_RULE, fallback_time=FALLBACK)
    assert email is not None
    assert "spf=pass smtp.mailfrom=bounces.supabase.com (by mx.example.net)" == email.trust_reason


@pytest.mark.parametrize("raw", [b"", b"   \r\n", b"\x00\x01\x02 binary junk"])
def test_not_an_email(raw: bytes) -> None:
    """Input that is not an email at all gives None."""
    assert None is parse_email(raw, DEFAULT_RULE, fallback_time=FALLBACK)


REAL = Path(__file__).resolve().parents[1] / "fixtures" / "real"


def real_copies() -> list[str]:
    """The warning email's text as each recipient pasted it (quote marks taken off)."""
    text = (REAL / "supabase_disk_io_warning_email_texts.txt").read_text()
    blocks = text.split("=== Copy ")[1:]
    copies = []
    notes = ("```", "###", "Trigger:", "(The same doc")  # the collector's lines, not the email's
    for block in blocks:
        lines = [line.removeprefix(">").strip().strip('"') for line in block.splitlines()[1:]]
        body = "\n".join(line for line in lines if line and not line.startswith(notes))
        copies.append(body.split("===")[0])
    return copies


def as_email(body: str, subject: str = "Your project is depleting its Disk IO Budget") -> bytes:
    """A plain provider email carrying ``body`` under the subject users saw."""
    return (
        "From: Supabase <noreply@supabase.com>\r\nTo: ops@example.com\r\n"
        f"Subject: {subject}\r\n"
        "Message-ID: <real@supabase.com>\r\nDate: Mon, 18 May 2026 09:00:00 +0000\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    ).encode()


def test_the_real_warning_texts_are_read_as_the_provider_means_them() -> None:
    """Every pasted copy is a disk IO warning; the one naming its project gives the name."""
    found = [
        parse_email(as_email(body), DEFAULT_RULE, fallback_time=FALLBACK) for body in real_copies()
    ]
    assert 3 == len(found)
    assert all(e is not None and e.kind is EmailKind.IO_BUDGET_WARNING for e in found)
    names = [e.project_name if e else None for e in found]
    assert ["job-hunter-team", None, None] == names
    assert all(e is not None and e.project_ref is None for e in found)


def test_the_dashboard_banner_wordings_are_classified() -> None:
    """The banner texts for each budget state map to the warning and the exhausted kinds."""
    banner = (REAL / "supabase_studio_disk_io_banner_texts.txt").read_text()
    assert "about to deplete its Disk IO Budget" in banner
    about = "Your project is about to deplete its Disk IO Budget, and may become unresponsive"
    depleted = "Your project has depleted its Disk IO Budget, and may become unresponsive"
    assert about in banner
    assert depleted in banner
    kinds = [
        parse_email(as_email("", subject=text), DEFAULT_RULE, fallback_time=FALLBACK)
        for text in (about, depleted)
    ]
    expected = [EmailKind.IO_BUDGET_WARNING, EmailKind.IO_BUDGET_EXHAUSTED]
    assert expected == [k.kind if k else None for k in kinds]
