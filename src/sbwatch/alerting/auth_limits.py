"""The words of the auth rate limits warning: the routes refused, their settings, the lever.

sbwatch pulls no lever for auth rate limits: it names the ``rate_limit_*`` field of the auth
configuration that governs each route and the call that changes it, and, for a route that
sends email while no custom SMTP server is set, the built-in sender's own limit.
"""

from __future__ import annotations

from typing import Any

from sbwatch.policy.auth_limits import AuthAssessment
from sbwatch.supabase.auth_limits import (
    AUTH_CONFIG_PATH,
    BUILTIN_SMTP_PER_HOUR,
    AuthConfig,
    route_limit,
)

SMTP_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP "
    "(smtp_host and its fields, in the same configuration)."
)
SMTP_UNKNOWN_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP, unless one is "
    "set already (smtp_host and its fields, in the same configuration)."
)


def auth_limits_title(a: AuthAssessment) -> str:
    """One line: the routes refused and how fast."""
    rate = {s.route: s.per_minute for s in a.routes}
    named = ", ".join(f"{r} ({rate.get(r, 0.0):.0f}/min)" for r in a.limited)
    return f"auth rate limited: {named} answering 429"


def _configured(config: AuthConfig | None, setting: str) -> str:
    if config is None:
        return setting
    value = config.limits.get(setting)
    return setting if value is None else f"{setting} (now {value})"


def auth_limits_lines(a: AuthAssessment, ref: str, config: AuthConfig | None) -> list[str]:
    """Each route with its setting and the lever; the SMTP line when it applies."""
    path = AUTH_CONFIG_PATH.format(ref=ref)
    lines = []
    email = False
    for route in a.limited:
        limit = route_limit(route)
        settings = " or ".join(_configured(config, s) for s in limit.settings)
        lines.append(
            f"Auth route {route} is refusing requests (HTTP 429) steadily: governed by {settings}."
        )
        email = email or limit.sends_email
    fields = sorted({s for r in a.limited for s in route_limit(r).settings})
    lines.append(f"Raise it: PATCH {path} with {', '.join(fields)}.")
    if email and config is not None and not config.custom_smtp:
        lines.append(SMTP_LINE)
    elif email and config is None:
        lines.append(SMTP_UNKNOWN_LINE)
    lines.append("Users are being refused; the project is up. sbwatch changes no setting here.")
    return lines


def auth_limits_line(doc: dict[str, Any]) -> str:
    """The status line of a stored assessment."""
    routes = doc.get("routes") or []
    limited = set(doc.get("limited") or [])
    if not routes:
        return "no 429s"
    parts = [
        f"{r['route']} {r['per_minute']:.1f}/min" + (" (limited)" if r["route"] in limited else "")
        for r in routes
    ]
    return "429s " + ", ".join(parts)
