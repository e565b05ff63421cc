"""The provider's emails about a project: confirmed, unverified, held back or about a project
sbwatch does not watch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sbwatch.core.results import (
    ProviderEmail,
)


def email_folded_line(email: ProviderEmail) -> str:
    """A trusted email about the budget, as a line of the open budget alert it confirms."""
    return f"Supabase emailed at {email.received_at:%Y-%m-%d %H:%M} UTC: {email.subject}"


def email_title(email: ProviderEmail) -> str:
    """A provider email about a watched project: its subject, and whether it is proven."""
    if email.trusted:
        return f"Supabase emailed: {email.subject}"
    return f"UNVERIFIED email claims: {email.subject}"


def email_body(email: ProviderEmail, budget_left: float | None) -> str:
    """Who sent it and why it is (not) trusted, with sbwatch's own estimate of the budget."""
    estimate = (
        f" sbwatch estimates {budget_left:.0%} of the IO budget left."
        if budget_left is not None
        else ""
    )
    if email.trusted:
        return f"{email.kind.value} from {email.sender} ({email.trust_reason}).{estimate}"
    return (
        f"Unverified: not proven to come from Supabase ({email.trust_reason}); "
        f"not counted as evidence. {email.kind.value} from {email.sender}.{estimate}"
    )


def held_claims_title(count: int) -> str:
    """The unverified emails held back for an hour, grouped."""
    return f"UNVERIFIED email claims: {count:,} more in the last hour"


def held_claims_body(
    count: int, since: datetime, senders: Sequence[tuple[str, int]], others: int
) -> str:
    """The unverified emails held back: how many and from whom (``senders``: the senders
    named, with their counts, the most frequent first; ``others``: how many more there were)."""
    shown = [f"{sender or '(no sender)'} ({n:,})" for sender, n in senders]
    tail = f", and {others:,} other sender(s)" if others > 0 else ""
    return (
        f"{count:,} more unverified email(s) (not proven to come from Supabase) made "
        f"claims since {since:%Y-%m-%d %H:%M} UTC; not counted as evidence. "
        f"From: {', '.join(shown)}{tail}."
    )


def unmatched_title(email: ProviderEmail) -> str:
    """An email about a project sbwatch does not watch (or that names none)."""
    named = email.project_ref or email.project_name or "no project"
    who = "Supabase emailed" if email.trusted else "An UNVERIFIED email (not proven Supabase's)"
    return f"{who} about {named}, which sbwatch does not watch: {email.subject}"


def unmatched_body(email: ProviderEmail, watched: Sequence[str]) -> str:
    """Who sent it, the projects watched, and how to name one."""
    return (
        f"{email.kind.value} from {email.sender} ({email.trust_reason}). sbwatch watches "
        f"{', '.join(watched)}; name the project in the config (`name = ...`) if it is one of "
        "them."
    )
