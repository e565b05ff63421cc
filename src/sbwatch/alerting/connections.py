"""The words of the connections alert: which pool is full or filling, and the levers.

sbwatch pulls no lever for connections itself: it names them. Closing the idle clients (the
username holding the most, when the endpoint gives it), the pooler's pool size, and a bigger
size only where the per-size table says a bigger size raises the limit that is hit.
"""

from __future__ import annotations

from typing import Any

from sbwatch.core.connections import DIRECT, POOLER, REST
from sbwatch.core.durations import format_duration
from sbwatch.core.tiers import Tier
from sbwatch.policy.connections import POOL_NAMES, ConnAssessment, pool_line
from sbwatch.supabase.connections import POOLER_CONFIG_PATH, bigger_limit, size_limit


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
    lines = [f"{pool_line(worst)}."]
    if worst.rate_per_h is not None and worst.rate_per_h > 0 and worst.full_eta_s:
        lines.append(
            f"Climbing {worst.rate_per_h:.0f} an hour: a client opens connections it never closes."
        )
    if worst.pool == REST and worst.timeouts:
        lines.append(f"{worst.timeouts:.0f} requests timed out waiting for a connection.")
    others = [s for s in a.pools if s is not worst and (s.full or s.near)]
    lines += [f"{pool_line(s)}." for s in others]
    lines += pool_levers(worst.pool, a.tier, ref, a.top_user)
    lines.append("sbwatch changes nothing itself for connections.")
    return lines


def connections_line(doc: dict[str, Any]) -> str:
    """One line from a stored assessment (watch/connections.py ``report_doc``): each pool's use
    of its limit, when a climb fills it, and who holds the most."""
    parts = []
    for pool in doc["pools"]:
        used, limit = pool["used"], pool["limit"]
        part = f"{pool['pool']} {used:.0f} of {limit:.0f}"
        if pool["full"]:
            part += " FULL"
        else:
            part += f" ({used / limit if limit else 0:.0%})"
            if pool["full_eta_s"]:
                part += f", full in ~{format_duration(pool['full_eta_s'])}"
        parts.append(part)
    line = "; ".join(parts)
    if doc.get("top_user"):
        user, count = doc["top_user"]
        line += f"; {user} holds {count:.0f}"
    return line
