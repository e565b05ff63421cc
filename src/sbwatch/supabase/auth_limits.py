"""Provider facts about the auth rate limits: what the metrics endpoint shows, which setting
governs each route, and the built-in email sender's own limit.

Source: the metrics endpoint's GoTrue families (tests/fixtures/real/
prom_supabase_grafana_metrics_md_2025-06.prom: ``http_status_codes_total`` with ``code`` and
``http_route``, ``service_type="gotrue"``), the Management API's ``AuthConfigResponse``
(tests/fixtures/real/supabase-mgmt-openapi.json: the ``rate_limit_*`` fields and
``smtp_host``) and the provider's rate limits page, as of December 2026: every endpoint that
sends email shares ``rate_limit_email_sent``, and the built-in SMTP sends 2 emails an hour
whatever that setting says, until a custom SMTP server is set.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SERIES = "http_status_codes_total"
"""GoTrue's counter of the status codes it answered, by ``code`` and ``http_route``."""
SERVICE = "gotrue"
REFUSED_CODE = "429"
AUTH_CONFIG_PATH = "/v1/projects/{ref}/config/auth"
"""Where the rate limits are read (``GET``) and changed (``PATCH``)."""
BUILTIN_SMTP_PER_HOUR = 2
"""Emails the built-in SMTP sends an hour, whatever ``rate_limit_email_sent`` says."""

EMAIL = "rate_limit_email_sent"
OTP = "rate_limit_otp"
VERIFY = "rate_limit_verify"
TOKEN_REFRESH = "rate_limit_token_refresh"
SMS = "rate_limit_sms_sent"
ANONYMOUS = "rate_limit_anonymous_users"
SETTINGS = (EMAIL, OTP, VERIFY, TOKEN_REFRESH, SMS, ANONYMOUS)
"""The ``rate_limit_*`` fields of the auth configuration sbwatch reads."""


@dataclass(frozen=True, slots=True)
class RouteLimit:
    """What governs the 429s of one GoTrue route."""

    settings: tuple[str, ...]
    """The ``rate_limit_*`` fields that refuse it, the likeliest first."""
    sends_email: bool
    """Whether the route sends email (then the built-in SMTP's own limit applies too)."""


ROUTES: Mapping[str, RouteLimit] = {
    "/token": RouteLimit((TOKEN_REFRESH, VERIFY), False),
    "/verify": RouteLimit((VERIFY,), False),
    "/otp": RouteLimit((OTP, EMAIL), True),
    "/magiclink": RouteLimit((OTP, EMAIL), True),
    "/signup": RouteLimit((EMAIL,), True),
    "/recover": RouteLimit((EMAIL,), True),
    "/resend": RouteLimit((EMAIL,), True),
    "/sms": RouteLimit((SMS,), False),
}
"""GoTrue's rate-limited routes (``http_route``, as the endpoint labels them)."""
UNKNOWN_ROUTE = RouteLimit(SETTINGS, False)


def route_limit(route: str) -> RouteLimit:
    """What governs ``route`` (every ``rate_limit_*`` field for a route not in the table)."""
    return ROUTES.get(route, UNKNOWN_ROUTE)


def read_refused(series: Iterable[tuple[str, Mapping[str, str], float]]) -> dict[str, float]:
    """GoTrue's 429 counters by route in a scrape's samples (routes without 429 left out)."""
    found: dict[str, float] = {}
    for name, labels, value in series:
        if name != SERIES or labels.get("code") != REFUSED_CODE:
            continue
        if labels.get("service_type", SERVICE) != SERVICE:
            continue
        route = labels.get("http_route", "")
        found[route] = found.get(route, 0.0) + value
    return found


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """The auth rate limits and whether a custom SMTP server is set (None: not answered)."""

    limits: Mapping[str, int | None]
    custom_smtp: bool


def parse_auth_config(body: Any) -> AuthConfig:
    """The ``GET .../config/auth`` answer: ValueError naming the field when it is not one."""
    if not isinstance(body, dict):
        raise ValueError("config/auth: not an object")
    limits: dict[str, int | None] = {}
    for name in SETTINGS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"config/auth: {name} is not an integer")
        limits[name] = value
    host = body.get("smtp_host")
    if host is not None and not isinstance(host, str):
        raise ValueError("config/auth: smtp_host is not a string")
    return AuthConfig(limits, bool(host and host.strip()))
