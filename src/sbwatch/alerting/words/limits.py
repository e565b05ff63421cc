"""The limits of connections and of the auth routes: which is reached and the levers that
raise it."""

from __future__ import annotations

from sbwatch.core.connections import DIRECT, POOLER, REST
from sbwatch.core.durations import format_duration
from sbwatch.core.facts import Fact
from sbwatch.core.tiers import Tier
from sbwatch.policy.auth_limits import AuthAssessment
from sbwatch.policy.connections import ConnAssessment, pool_fact
from sbwatch.supabase.auth_limits import (
    AUTH_CONFIG_PATH,
    BUILTIN_SMTP_PER_HOUR,
    AuthConfig,
    route_limit,
)
from sbwatch.supabase.connections import POOLER_CONFIG_PATH, bigger_limit, size_limit

# --- connections -------------------------------------------------------------------------

POOL_NAMES = {
    DIRECT: "Postgres direct connections",
    REST: "PostgREST's pool",
    POOLER: "Pooler clients",
}


def pool_line(fact: Fact) -> str:
    """One pool's fact (``FactKind.POOL``, ``policy.connections.pool_fact``): the pool, how
    full, of what limit."""
    pool = fact.pool
    assert pool is not None
    source = "max_connections" if pool == DIRECT else "its max"
    if fact.from_size:
        source = "the size's limit"
    used, limit = f"{fact.used:.0f}", f"{fact.limit:.0f}"
    what = "full" if fact.full else f"{fact.ratio:.0%} used"
    line = f"{POOL_NAMES[pool]} {what}: {used} of {limit} ({source})"
    if pool == REST and fact.waiting:
        line += f", {fact.waiting:.0f} requests waiting"
    return line


def connections_title(a: ConnAssessment) -> str:
    """One line: the pool, how full, and when a climb fills it."""
    worst = a.worst
    if worst is None:
        return "connections"
    name = POOL_NAMES[worst.pool]
    counts = f"{worst.used:.0f} of {worst.limit:.0f}"
    if worst.full:
        return f"{name} full: {counts}, new connections refused"
    title = f"{name} {worst.ratio:.0%} used ({counts})"
    if worst.full_eta_s:
        title += f": full in ~{format_duration(worst.full_eta_s)}"
    return title


def pool_levers(
    pool: str, tier: Tier, ref: str, top_user: tuple[str, float] | None = None
) -> list[str]:
    """The levers of one full pool: the clients holding it, the pooler's pool size, and a
    bigger size only where it raises that pool's limit."""
    path = POOLER_CONFIG_PATH.format(ref=ref)
    lines = []
    if pool == DIRECT and top_user is not None:
        user, count = top_user
        lines.append(f"{user} holds {count:.0f} of them: close its idle connections.")
    if pool == DIRECT:
        lines.append(
            "Connect clients through the pooler and size its pool: "
            f"PATCH {path} (default_pool_size)."
        )
    elif pool == POOLER:
        lines.append(f"Size the pooler's pool: PATCH {path} (default_pool_size).")
    else:
        lines.append(
            "Slow or stuck requests hold its connections: find and end them; "
            "a bigger size does not raise this pool."
        )
    if pool != REST:
        now = size_limit(tier, pool)
        bigger = bigger_limit(tier, pool)
        if bigger is not None:
            size, limit = bigger
            lines.append(f"A bigger size raises this limit: {size} allows {limit} ({tier} {now}).")
        else:
            lines.append(f"No bigger size raises this limit ({tier} {now}).")
    return lines


def refused_lines(pool: str, tier: Tier, ref: str) -> list[str]:
    """The levers when the db probe was refused for want of room and no scrape shows the pool:
    close idle clients, then the pool's own levers."""
    who = "Postgres" if pool == DIRECT else "The pooler"
    return [
        f"{who} takes no new connections: close idle clients (the ones holding the most).",
        *pool_levers(pool, tier, ref),
        "sbwatch changes nothing itself for connections.",
    ]


def connections_lines(a: ConnAssessment, ref: str) -> list[str]:
    """The facts and the levers, one line each."""
    worst = a.worst
    if worst is None:
        return []
    lines = [f"{pool_line(pool_fact(worst))}."]
    if worst.rate_per_h is not None and worst.rate_per_h > 0 and worst.full_eta_s:
        lines.append(
            f"Climbing {worst.rate_per_h:.0f} an hour: a client opens connections it never closes."
        )
    if worst.pool == REST and worst.timeouts:
        lines.append(f"{worst.timeouts:.0f} requests timed out waiting for a connection.")
    others = [s for s in a.pools if s is not worst and (s.full or s.near)]
    lines += [f"{pool_line(pool_fact(s))}." for s in others]
    lines += pool_levers(worst.pool, a.tier, ref, a.top_user)
    lines.append("sbwatch changes nothing itself for connections.")
    return lines


# --- auth rate limits --------------------------------------------------------------------

SMTP_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP "
    "(smtp_host and its fields, in the same configuration)."
)
SMTP_UNKNOWN_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP, unless one is "
    "set already (smtp_host and its fields, in the same configuration)."
)


AUTH_LIMITS_NAME = "auth rate limits"
"""The auth limits condition's title while no route is refused (an inactive condition)."""


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
