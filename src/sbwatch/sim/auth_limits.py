"""The simulator's ground truth for the auth rate limits: GoTrue refusing requests by route.

Written apart from sbwatch's reading and policy (no shared code or constants):

- An ``auth_limit`` event sets how many requests a minute GoTrue refuses (HTTP 429) on one
  route (``refused_per_minute``; 0: none any more). The endpoint's
  ``http_status_codes_total{service_type="gotrue",code="429",http_route=...}`` counts them;
  ``code="200"`` on ``/health`` is always there, as in the provider's exposition.
- A compute change restarts the project's services: GoTrue's counters start again from zero,
  while the users it refuses go on being refused.
- Refusing users is not the project down: no service fails because of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ROUTES = ("/token", "/verify", "/otp", "/magiclink", "/signup", "/recover", "/resend", "/sms")
"""The routes GoTrue rate-limits, as its ``http_route`` label names them."""
HEALTH_PER_MINUTE = 6.0
"""Health checks GoTrue answers 200 a minute."""


@dataclass
class AuthLimits:
    """One project's GoTrue 429s; times are the world's monotonic seconds."""

    refused_per_minute: dict[str, float] = field(default_factory=dict)
    refused_total: dict[str, float] = field(default_factory=dict)
    health_total: float = 0.0
    t: float = 0.0

    @property
    def refusing(self) -> tuple[str, ...]:
        """The routes refusing requests now, sorted."""
        return tuple(sorted(r for r, rate in self.refused_per_minute.items() if rate > 0))

    def set_rate(self, route: str, per_minute: float) -> None:
        """Refuse ``per_minute`` requests a minute on ``route`` from now on."""
        if route not in ROUTES:
            raise ValueError(f"route: one of {', '.join(ROUTES)}")
        if not per_minute >= 0:
            raise ValueError("refused_per_minute: 0 or more")
        self.refused_per_minute[route] = per_minute
        self.refused_total.setdefault(route, 0.0)

    def advance(self, start: float, end: float) -> None:
        """Run from ``start`` to ``end``: every route's counter rises by its rate."""
        t = max(start, self.t)
        if end <= t:
            return
        minutes = (end - t) / 60
        for route, rate in self.refused_per_minute.items():
            self.refused_total[route] = self.refused_total.get(route, 0.0) + rate * minutes
        self.health_total += HEALTH_PER_MINUTE * minutes
        self.t = end

    def restart(self) -> None:
        """GoTrue restarts (a compute change): its counters start again from zero."""
        self.refused_total = dict.fromkeys(self.refused_total, 0.0)
        self.health_total = 0.0
