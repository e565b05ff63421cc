"""What a phone is given: a message, and how the messages of one project name it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """How the messages of one project name it and link to it."""

    name: str
    dashboard_url: str | None = None


@dataclass(frozen=True)
class Message:
    """What a phone shows: a title line and a body."""

    title: str
    body: str
    good_news: bool = False
    """A resolve or a recovery: phones show it as a success, not a failure."""
