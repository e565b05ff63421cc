"""The auth rate limits in one line for ``sbwatch status`` and the status page (the phone's
words are in ``alerting.words``)."""

from __future__ import annotations

from typing import Any


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
