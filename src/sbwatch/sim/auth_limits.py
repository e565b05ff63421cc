"""The simulator's ground truth for the auth rate limits: GoTrue refusing requests by route.

Written apart from sbwatch's reading and policy (no shared code or constants):

- An ``auth_limit`` event sets how many requests a minute GoTrue refuses (HTTP 429) on one
  route (``refused_per_minute``; 0: none any more). The endpoint's
  ``http_status_codes_total{service_type="gotrue",code="429",http_route=...}`` counts them;
  ``code="200"`` on ``/health`` is always there, as in the provider's exposition.
- A compute change restarts the project's services: GoTrue's counters start again from zero,
  while the users it refuses go on being refused.
- Refusing users is not the project down: no service fails because of it.
- ``GET /v1/projects/{ref}/config/auth`` answers the whole ``AuthConfigResponse`` of the
  provider's spec (every required field; the ones modelled here with the provider's defaults:
  ``rate_limit_email_sent`` 2 and no ``smtp_host`` until ``custom_smtp``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

ROUTES = ("/token", "/verify", "/otp", "/magiclink", "/signup", "/recover", "/resend", "/sms")
"""The routes GoTrue rate-limits, as its ``http_route`` label names them."""
HEALTH_PER_MINUTE = 6.0
"""Health checks GoTrue answers 200 a minute."""


LIMITS = {
    "rate_limit_email_sent": 2,
    "rate_limit_sms_sent": 30,
    "rate_limit_verify": 30,
    "rate_limit_token_refresh": 150,
    "rate_limit_otp": 30,
    "rate_limit_anonymous_users": 30,
    "rate_limit_web3": 30,
}
"""The auth configuration's rate limits of a new project (an hour, or 5 minutes for tokens)."""
SMTP_HOST = "smtp.example.com"


@dataclass
class AuthLimits:
    """One project's GoTrue 429s; times are the world's monotonic seconds."""

    refused_per_minute: dict[str, float] = field(default_factory=dict)
    refused_total: dict[str, float] = field(default_factory=dict)
    health_total: float = 0.0
    t: float = 0.0
    custom_smtp: bool = False
    """Whether the project sends its auth emails through a custom SMTP server."""

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


@cache
def _auth_config_schema() -> dict[str, Any]:
    text = (resources.files("sbwatch.sim") / "openapi-subset.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)["components"]["schemas"]["AuthConfigResponse"]
    return schema


def _blank(prop: dict[str, Any]) -> Any:
    """The value of a field nothing here models: null where the spec allows it (an enum's
    first value: the spec's enums do not list null)."""
    if "enum" in prop:
        return prop["enum"][0]
    if prop.get("nullable"):
        return None
    kind = prop.get("type")
    return {"boolean": False, "integer": 0, "number": 0, "array": []}.get(str(kind), "")


@cache
def _blank_document() -> tuple[dict[str, Any], tuple[str, ...]]:
    """Every field the spec requires at its blank value, and the names of the arrays: built
    once (about 200 fields; the auth check asks for the document every few minutes)."""
    schema = _auth_config_schema()
    blank = {name: _blank(schema["properties"][name]) for name in schema["required"]}
    return blank, tuple(name for name, value in blank.items() if isinstance(value, list))


def auth_config_document(auth: AuthLimits) -> dict[str, Any]:
    """The AuthConfigResponse of a project: its rate limits and SMTP server."""
    blank, arrays = _blank_document()
    document = dict(blank)
    document.update((name, []) for name in arrays)  # a list of its own in every answer
    document.update(LIMITS)
    document["smtp_host"] = SMTP_HOST if auth.custom_smtp else None
    document["smtp_port"] = "587" if auth.custom_smtp else None
    return document
