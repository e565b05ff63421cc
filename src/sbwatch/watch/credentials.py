"""Says when the Management API token nears its expiry: once per stage (30, 7 days, expired)."""

from __future__ import annotations

from datetime import date

from sbwatch.alerting.words import expiry_body, expiry_title
from sbwatch.core.clock import Clock
from sbwatch.core.metrics import Metrics
from sbwatch.core.subjects import Subject
from sbwatch.policy.credentials import expiry_moment, token_expiry
from sbwatch.watch.announcer import Announcer


class TokenExpiryWatch:
    """Checks the configured expiry (``mgmt_token_expires``) and announces each stage once."""

    def __init__(
        self, expires: date, *, announcer: Announcer, clock: Clock, metrics: Metrics
    ) -> None:
        self._expires = expires
        self._announcer = announcer
        self._clock = clock
        self._said: set[int] = set()
        metrics.token_expiry.set(expiry_moment(expires).timestamp())

    async def check(self) -> None:
        """Announce the stage reached, if it was not said yet (since this start)."""
        notice = token_expiry(self._expires, self._clock.now())
        if notice is None or notice.stage in self._said:
            return
        self._said.add(notice.stage)
        await self._announcer.provider_notice(
            notice.severity, expiry_title(notice), expiry_body(notice), subject=Subject.TOKEN
        )
