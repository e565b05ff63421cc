"""Unverified email claims, grouped: at most one notice per project an hour, however many come."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sbwatch.core.results import ProviderEmail

CLAIM_WINDOW = timedelta(hours=1)
SENDERS_SHOWN = 5


@dataclass
class ClaimGroup:
    """The unverified emails about one project held back since its last notice."""

    said_at: datetime
    count: int = 0
    senders: Counter[str] = field(default_factory=Counter)

    def shown(self) -> tuple[list[tuple[str, int]], int]:
        """The senders to name with their counts, the most frequent first, and how many other
        senders there were."""
        shown = self.senders.most_common(SENDERS_SHOWN)
        return shown, len(self.senders) - len(shown)


class UntrustedClaims:
    """Per key (a project's ref, or the provider for emails that fit none): the first
    unverified email of an hour is said, the others are counted for one summary."""

    def __init__(self, window: timedelta = CLAIM_WINDOW) -> None:
        self._window = window
        self._groups: dict[str, ClaimGroup] = {}

    def admit(self, key: str, email: ProviderEmail, now: datetime) -> bool:
        """True when this email is to be said now; False when it was counted instead."""
        group = self._groups.get(key)
        if group is None or (group.count == 0 and now - group.said_at >= self._window):
            self._groups[key] = ClaimGroup(now)
            return True
        group.count += 1
        group.senders[email.sender] += 1
        return False

    def due(self, key: str, now: datetime) -> ClaimGroup | None:
        """The group to summarise now (its hour is up and it counted emails), started afresh."""
        group = self._groups.get(key)
        if group is None or group.count == 0 or now - group.said_at < self._window:
            return None
        self._groups[key] = ClaimGroup(now)
        return group
