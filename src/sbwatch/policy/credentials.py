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
    """What to say about the token's expiry at one stage."""

    stage: int
    """30, 7 or 0 (expired): a notice is sent once per stage reached."""
    severity: Severity
    title: str
    body: str


def expiry_moment(expires: date) -> datetime:
    """The token stops working at the start of its expiry day (UTC)."""
    return datetime.combine(expires, time(), tzinfo=UTC)


def token_expiry(expires: date, now: datetime) -> ExpiryNotice | None:
    """The notice due at ``now`` for a token expiring on ``expires``; None over 30 days out."""
    left = expiry_moment(expires) - now
    days = left.total_seconds() / 86_400
    renew = (
        "Create a new access token in the dashboard (Account > Access Tokens), put it where "
        "mgmt_token reads it, set mgmt_token_expires to its expiry and restart sbwatch."
    )
    if days <= 0:
        title = f"the Management API token expired on {expires:%Y-%m-%d}"
        body = "sbwatch cannot read the provider's view nor change the compute size. " + renew
        return ExpiryNotice(0, Severity.CRITICAL, title, body)
    stage, severity = (
        (CRITICAL_DAYS, Severity.CRITICAL)
        if days <= CRITICAL_DAYS
        else (WARN_DAYS, Severity.WARNING)
    )
    if days > WARN_DAYS:
        return None
    title = f"the Management API token expires in {int(days)} days ({expires:%Y-%m-%d})"
    body = (
        "Then sbwatch can no longer read the provider's view nor change the compute size. " + renew
    )
    return ExpiryNotice(stage, severity, title, body)
