"""The words of the connections alert: which pool is full or filling, and the levers.

sbwatch pulls no lever for connections itself: it names them. Closing the idle clients (the
username holding the most, when the endpoint gives it), the pooler's pool size, and a bigger
size only where the per-size table says a bigger size raises the limit that is hit.
"""

from __future__ import annotations

from typing import Any

from sbwatch.core.durations import format_duration
from sbwatch.policy.connections import POOL_NAMES, ConnAssessment, PoolState, pool_line
from sbwatch.supabase.connections import DIRECT, POOLER, POOLER_CONFIG_PATH, REST, size_limit


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


def _lever(a: ConnAssessment, worst: PoolState, ref: str) -> list[str]:
    path = POOLER_CONFIG_PATH.format(ref=ref)
    lines = []
    if worst.pool == DIRECT and a.top_user is not None:
        user, count = a.top_user
        lines.append(f"{user} holds {count:.0f} of them: close its idle connections.")
    if worst.pool == DIRECT:
        lines.append(
            "Connect clients through the pooler and size its pool: "
            f"PATCH {path} (default_pool_size)."
        )
    elif worst.pool == POOLER:
        lines.append(f"Size the pooler's pool: PATCH {path} (default_pool_size).")
    else:
        lines.append(
            "Slow or stuck requests hold its connections: find and end them; "
            "a bigger size does not raise this pool."
        )
    if worst.pool != REST:
        now = size_limit(a.tier, worst.pool)
        if a.bigger is not None:
            tier, limit = a.bigger
            lines.append(
                f"A bigger size raises this limit: {tier} allows {limit} ({a.tier} {now})."
            )
        else:
            lines.append(f"No bigger size raises this limit ({a.tier} {now}).")
    return lines


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
    lines += _lever(a, worst, ref)
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
