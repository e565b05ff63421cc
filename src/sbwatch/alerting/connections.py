"""The connections in one line for ``sbwatch status`` and the status page (the phone's words
are in ``alerting.words``)."""

from __future__ import annotations

from typing import Any

from sbwatch.core.durations import format_duration


def connections_line(doc: dict[str, Any]) -> str:
    """One line from a stored assessment (watch/connections.py ``ConnectionsReport``): each
    pool's use of its limit, when a climb fills it, and who holds the most."""
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
