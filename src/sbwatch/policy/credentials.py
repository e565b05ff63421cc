"""The Management API token's expiry: when to say so, and how loudly (pure).

Personal access tokens always expire (at most a year out); a token that expires unnoticed
leaves sbwatch blind to the provider's view and unable to change the compute size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sbwatch.core.results import Severity

WARN_DAYS = 30
CRITICAL_DAYS = 7


@dataclass(frozen=True)
class ExpiryNotice:
    """What is due about the token's expiry at one stage (``alerting.words`` says it)."""

    stage: int
    """30, 7 or 0 (expired): a notice is sent once per stage reached."""
    severity: Severity
    expires: date
    days_left: int
    """Whole days left (0 once expired)."""


def expiry_moment(expires: date) -> datetime:
    """The token stops working at the start of its expiry day (UTC)."""
    return datetime.combine(expires, time(), tzinfo=UTC)


def token_expiry(expires: date, now: datetime) -> ExpiryNotice | None:
    """The notice due at ``now`` for a token expiring on ``expires``; None over 30 days out."""
    left = expiry_moment(expires) - now
    days = left.total_seconds() / 86_400
    if days <= 0:
        return ExpiryNotice(0, Severity.CRITICAL, expires, 0)
    stage, severity = (
        (CRITICAL_DAYS, Severity.CRITICAL)
        if days <= CRITICAL_DAYS
        else (WARN_DAYS, Severity.WARNING)
    )
    if days > WARN_DAYS:
        return None
    return ExpiryNotice(stage, severity, expires, int(days))
