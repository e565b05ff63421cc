"""The frame of an alert's message: the line naming the alerts a cause took in."""

from __future__ import annotations

from collections.abc import Sequence

PART_OF = "Part of it:"
"""Begins the line of a cause's alert naming the alerts it took in."""


def one_line(text: str, limit: int = 120) -> str:
    """Collapse whitespace and newlines; cut long text with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def said_body(body: str, part_of: Sequence[str] = ()) -> str:
    """An alert's body as said: with the titles of the alerts it took in, when any."""
    if not part_of:
        return body
    return f"{body}\n{PART_OF} {', '.join(part_of)}.".strip()


def is_part_of_line(line: str) -> bool:
    """Whether a line of a body names the alerts its cause took in (a RESOLVED keeps it)."""
    return line.startswith(PART_OF)
