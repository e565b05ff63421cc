"""Provider emails: raw bytes to a classified, trust-judged ``ProviderEmail``.

Pure but for the DKIM key lookup of the default trust rule (``TrustRule.dns``), which blocks.
"""

from __future__ import annotations

import email
import hashlib
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import TYPE_CHECKING

from sbwatch.core.results import EmailKind, ProviderEmail
from sbwatch.ingest.authres import (
    AuthHeader,
    domain_of,
    failure_summary,
    in_domains,
    parse_auth_header,
    passing_clause,
)
from sbwatch.ingest.dkim import DEFAULT_DNS, DnsFunc, failing, pinned, verify
from sbwatch.ingest.text import SAFE_POLICY, body_text, first_header, header_values

if TYPE_CHECKING:
    from sbwatch.config.settings import MailSettings

# Checked in order: the exhausted wording before the warning wording it resembles.
PHRASES: tuple[tuple[EmailKind, str], ...] = (
    (EmailKind.IO_BUDGET_EXHAUSTED, "has depleted its disk io budget"),
    (EmailKind.IO_BUDGET_WARNING, "depleting its disk io budget"),
    (EmailKind.IO_BUDGET_WARNING, "about to deplete"),
    (EmailKind.DISK_SPACE, "exhaust its available disk space"),
    (EmailKind.CPU, "high cpu usage"),
    (EmailKind.MEMORY, "high memory usage"),
    (EmailKind.READ_ONLY, "read-only mode"),
)

_REF_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dashboard link", re.compile(r"supabase\.com/dashboard/project/([a-z0-9]{20})(?![a-z0-9])")),
    ("project host", re.compile(r"(?<![a-z0-9])([a-z0-9]{20})\.supabase\.(?:co|in)\b")),
    ("project wording", re.compile(r"\b(?i:project|projet|ref)\W{1,3}([a-z0-9]{20})(?![a-z0-9])")),
    ("bare ref", re.compile(r"(?<![a-z0-9])((?=[a-z]*[0-9])[a-z0-9]{20})(?![a-z0-9])")),
)
_NAME = re.compile(
    r"\byour project (?!is\b|has\b)(?P<name>[A-Za-z0-9][\w.-]{0,62}) (?:is|has)\b",
    re.IGNORECASE,
)
"""The provider names the project in the body: "Your project job-hunter-team is depleting"."""
_SPACE = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
"""Lone surrogates (raw 8-bit header bytes): no store can take them as text."""
_CONTROLS = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")
"""NUL (no PostgreSQL text holds it) and terminal controls (ESC, BEL): a subject that moves
the cursor or recolours a terminal is text from anyone."""


@dataclass(frozen=True)
class TrustRule:
    """Which senders are the provider, and how it is proven.

    Without ``authserv_id`` sbwatch verifies DKIM signatures itself, looking keys up with
    ``dns``; with one, only the Authentication-Results headers that server added count.
    """

    trusted_domains: tuple[str, ...]
    authserv_id: str | None
    dns: DnsFunc = DEFAULT_DNS
    timeout_s: float = 5.0

    def offline(self, why: str) -> TrustRule:
        """This rule with every DKIM key lookup failing with ``why``."""
        return replace(self, dns=failing(why))

    def describe(self) -> str:
        """The rule in one line, for ``sbwatch check-config``."""
        domains = ", ".join(self.trusted_domains) or "(none)"
        if self.authserv_id is None:
            return f"emails trusted by DKIM signatures verified by sbwatch, d= in {domains}"
        return (
            f"emails trusted by Authentication-Results from authserv-id {self.authserv_id} "
            f"(DKIM or SPF pass for {domains})"
        )


DEFAULT_RULE = TrustRule(trusted_domains=("supabase.com", "supabase.io"), authserv_id=None)


def rule_from_settings(mail: MailSettings, dns: DnsFunc = DEFAULT_DNS) -> TrustRule:
    """The trust rule of a ``[mail]`` section; its pinned DKIM keys answer before ``dns``."""
    lookup = pinned(mail.dkim_keys, dns) if mail.dkim_keys else dns
    return TrustRule(tuple(mail.trusted_domains), mail.authserv_id, lookup)


@dataclass(frozen=True)
class Classification:
    """A parsed email and the reasons behind each verdict."""

    email: ProviderEmail
    phrase: str | None
    ref_source: str | None
    auth_headers_used: tuple[str, ...]
    reasons: tuple[str, ...]


def parse_email(raw: bytes, rule: TrustRule, *, fallback_time: datetime) -> ProviderEmail | None:
    """Classify a raw email; None only when the input is not an email at all."""
    found = explain(raw, rule, fallback_time)
    return found.email if found else None


def explain(raw: bytes, rule: TrustRule, fallback_time: datetime) -> Classification | None:
    """Classify a raw email and say why (phrase, ref source, trust reasons)."""
    msg = _message(raw)
    if msg is None:
        return None
    subject = first_header(msg, "Subject").strip()
    body = body_text(msg)
    kind, phrase = classify_kind(subject, body)
    ref, ref_source = find_ref(subject, body)
    name = find_name(subject, body)
    sender = sender_address(first_header(msg, "From"))
    trusted, reason, used, reasons = judge_trust(msg, raw, rule, sender)
    provider_email = ProviderEmail(
        message_id=storable(message_id(msg, raw)),
        kind=kind,
        project_ref=ref,
        received_at=received_at(msg, fallback_time),
        subject=storable(subject[:500]),
        sender=storable(sender),
        trusted=trusted,
        trust_reason=storable(reason),
        project_name=None if name is None else storable(name),
    )
    wording = f"matched {phrase!r}" if phrase else "no known wording"
    reasons = (f"kind {kind}: {wording}", *reasons)
    return Classification(
        provider_email,
        phrase,
        ref_source,
        tuple(map(storable, used)),
        tuple(map(storable, reasons)),
    )


def storable(text: str) -> str:
    """``text`` without control characters and with lone surrogates replaced by U+FFFD, so
    every store can save it and every terminal shows it as it is."""
    return _CONTROLS.sub("", _SURROGATES.sub("\ufffd", text))


def _message(raw: bytes) -> Message | None:
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        return None
    try:
        msg = email.message_from_bytes(bytes(raw), policy=SAFE_POLICY)
        keys = msg.keys()
    except Exception:  # the stdlib parser is documented not to raise, but be sure
        return None
    return msg if keys else None


def classify_kind(subject: str, body: str) -> tuple[EmailKind, str | None]:
    """The kind from the subject first, then the body; OTHER when no wording matches."""
    for text in (subject, body):
        norm = _SPACE.sub(" ", text.replace("\u2019", "'")).lower()
        for kind, phrase in PHRASES:
            if phrase in norm:
                return kind, phrase
    return EmailKind.OTHER, None


def find_ref(subject: str, body: str) -> tuple[str | None, str | None]:
    """A project ref and where it was found (dashboard link first, a bare token last)."""
    for source, pattern in _REF_PATTERNS:
        for where, text in (("subject", subject), ("body", body)):
            match = pattern.search(text)
            if match:
                return match.group(1), f"{source} in the {where}"
    return None, None


def find_name(subject: str, body: str) -> str | None:
    """The project's name as the email gives it; None when it names none ("Your project is")."""
    for text in (subject, body):
        match = _NAME.search(_SPACE.sub(" ", text))
        if match:
            return match.group("name")
    return None


def sender_address(value: str) -> str:
    """The From address (addr-spec), lowercased; the raw value when it does not parse."""
    try:
        pairs = getaddresses([value])
    except Exception:  # hostile From
        pairs = []
    for _, addr in pairs:
        if "@" in addr:
            return addr.strip().lower()
    return value.strip()[:200]


def message_id(msg: Message, raw: bytes) -> str:
    """Message-ID, else a stable hash of the raw bytes."""
    value = first_header(msg, "Message-ID").strip()
    if value:
        return value[:500]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def received_at(msg: Message, fallback: datetime) -> datetime:
    """The topmost Received date, else Date, else ``fallback``; aware UTC."""
    received = header_values(msg, "Received")
    candidates = [received[0].rpartition(";")[2]] if received else []
    candidates.append(first_header(msg, "Date"))
    for value in candidates:
        when = _date(value)
        if when is not None:
            return when
    return fallback.astimezone(UTC)


def _date(value: str) -> datetime | None:
    if not value.strip():
        return None
    try:
        when = parsedate_to_datetime(value.strip())
    except Exception:  # malformed or out-of-range dates
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def judge_trust(
    msg: Message, raw: bytes, rule: TrustRule, sender: str
) -> tuple[bool, str, tuple[str, ...], tuple[str, ...]]:
    """(trusted, short reason, headers used, every reason) per the rule."""
    headers = [h for h in map(parse_auth_header, header_values(msg, "Authentication-Results")) if h]
    from_domain = domain_of(sender) if "@" in sender else ""
    if rule.authserv_id is None:
        return _judge_by_dkim(raw, rule, from_domain, headers)
    return _judge_by_header(rule, rule.authserv_id, from_domain, headers)


def _judge_by_dkim(
    raw: bytes, rule: TrustRule, from_domain: str, headers: list[AuthHeader]
) -> tuple[bool, str, tuple[str, ...], tuple[str, ...]]:
    """sbwatch's own DKIM verification decides; Authentication-Results are shown, not used."""
    verdict = verify(bytes(raw), from_domain, rule.trusted_domains, rule.dns, rule.timeout_s)
    shown = [
        f"Authentication-Results by {h.authserv_id} not used ({failure_summary(h)})"
        for h in headers
    ]
    final = ("trusted: " if verdict.trusted else "untrusted: ") + verdict.reason
    reasons = (*verdict.reasons, *shown, final)
    return verdict.trusted, verdict.reason, (), reasons


def _judge_by_header(
    rule: TrustRule, authserv_id: str, from_domain: str, headers: list[AuthHeader]
) -> tuple[bool, str, tuple[str, ...], tuple[str, ...]]:
    """The Authentication-Results headers added by ``authserv_id`` decide."""
    used, why_used = _headers_that_count(headers, authserv_id)
    reasons = [why_used]
    passed: str | None = None
    for header in used:
        clause = passing_clause(header, rule.trusted_domains)
        reasons.append(f"{header.authserv_id}: {failure_summary(header)}")
        if clause and passed is None:
            passed = f"{clause} (by {header.authserv_id})"
    from_ok = in_domains(from_domain, rule.trusted_domains)
    verdict = "trusted" if from_ok else "not trusted"
    reasons.append(f"From domain {from_domain or '(none)'} is {verdict}")
    if passed is None:
        reason = "no DKIM/SPF pass for a trusted domain"
    elif not from_ok:
        reason = f"{passed}, but From domain {from_domain or '(none)'} is not trusted"
    else:
        reason = passed
    reasons.append(("trusted: " if passed and from_ok else "untrusted: ") + reason)
    return bool(passed and from_ok), reason, tuple(h.raw for h in used), tuple(reasons)


def _headers_that_count(
    headers: list[AuthHeader], authserv_id: str
) -> tuple[list[AuthHeader], str]:
    if not headers:
        return [], "no Authentication-Results header"
    wanted = authserv_id.lower()
    used = [h for h in headers if h.authserv_id == wanted]
    return used, (
        f"using {len(used)} Authentication-Results by {wanted}; "
        f"{len(headers) - len(used)} by others ignored"
    )
