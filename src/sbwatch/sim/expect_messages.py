"""What a scenario expects of the messages the phone gets: which ones, what they say, how many.

``[[expect.messages]]`` entries are found in order among the messages sent; an entry's
severity, ``title`` and ``contains`` pick its message, and its ``not_contains`` must then be
absent from that message. ``[[expect.no_messages]]`` entries name messages that must never be
sent. ``max_messages_per_project`` bounds each project's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sbwatch.sim.scenario import _Problems

SEVERITIES = ("info", "warning", "critical")
MESSAGE_KINDS = ("open", "update", "remind", "resolve", "notice")
"""What a message did to its alert (AlertAction.kind): opened it, updated, reminded, resolved,
or a notice with no alert behind it."""
MAX_MESSAGES = 10_000


def _text(message: dict[str, Any]) -> str:
    return f"{message.get('title', '')}\n{message.get('body', '')}"


def _search(pattern: str | None, text: str, flags: int = 0) -> bool:
    return pattern is not None and re.search(pattern, text, flags) is not None


def _when(message: dict[str, Any]) -> str:
    from sbwatch.sim.scenario import stamp  # the scenario module imports this one

    return stamp(float(message.get("at_s", 0.0)))


@dataclass(frozen=True)
class ExpectedMessage:
    """One message the phone must get, after the one expected before it."""

    severity: str | None = None
    title: str | None = None
    """A regular expression searched in the message title."""
    contains: str | None = None
    """A regular expression (any case) the title or the body must contain."""
    not_contains: str | None = None
    """A regular expression (any case) neither the title nor the body of the message may hold."""

    def matches(self, message: dict[str, Any]) -> bool:
        """Whether a sent message is the one this entry picks (severity, title, contains)."""
        if self.severity is not None and message.get("severity") != self.severity:
            return False
        if self.title is not None and not _search(self.title, str(message.get("title", ""))):
            return False
        return self.contains is None or _search(self.contains, _text(message), re.IGNORECASE)

    def offends(self, message: dict[str, Any]) -> bool:
        """Whether the picked message holds what it must not (``not_contains``)."""
        return _search(self.not_contains, _text(message), re.IGNORECASE)

    def describe(self) -> str:
        """``warning /disk IO budget/ containing /small/``."""
        parts = [
            self.severity or "any",
            f"/{self.title}/" if self.title is not None else "",
            f"containing /{self.contains}/" if self.contains is not None else "",
            f"without /{self.not_contains}/" if self.not_contains is not None else "",
        ]
        return " ".join(p for p in parts if p)


@dataclass(frozen=True)
class UnwantedMessage:
    """Messages the phone must never get: every given key must match for one to offend."""

    severity: str | None = None
    kind: str | None = None
    title: str | None = None
    """A regular expression searched in the message title."""
    contains: str | None = None
    """A regular expression (any case) searched in the title and the body."""

    def matches(self, message: dict[str, Any]) -> bool:
        """Whether a sent message is one of these."""
        if self.severity is not None and message.get("severity") != self.severity:
            return False
        if self.kind is not None and message.get("kind") != self.kind:
            return False
        if self.title is not None and not _search(self.title, str(message.get("title", ""))):
            return False
        return self.contains is None or _search(self.contains, _text(message), re.IGNORECASE)

    def describe(self) -> str:
        """``critical resolve /db is down/ containing /x/``."""
        parts = [
            self.severity or "any",
            self.kind or "",
            f"/{self.title}/" if self.title is not None else "",
            f"containing /{self.contains}/" if self.contains is not None else "",
        ]
        return " ".join(p for p in parts if p)


# -- parsing ------------------------------------------------------------------------------


def _pattern(problems: _Problems, where: str, value: Any) -> str | None:
    if not isinstance(value, str):
        problems.add(where, "must be a string (a regular expression)")
        return None
    try:
        re.compile(value)
    except re.error as exc:
        problems.add(where, f"not a regular expression: {exc}")
        return None
    return value


def _entries(
    problems: _Problems, key: str, raw: Any, read: Callable[[str, dict[str, Any]], Any]
) -> tuple[Any, ...]:
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.add(f"expect.{key}", f"must be an array of tables ([[expect.{key}]])")
        return ()
    return tuple(read(f"expect.{key}[{index}]", item) for index, item in enumerate(raw))


def parse_messages(problems: _Problems, raw: Any) -> tuple[ExpectedMessage, ...]:
    """``[[expect.messages]]``: severity, title, contains and not_contains each."""

    def read(where: str, item: dict[str, Any]) -> ExpectedMessage:
        problems.unknown(where, item, ("severity", "title", "contains", "not_contains"))
        if not item.keys() & {"severity", "title", "contains"}:
            problems.add(
                where,
                "needs a severity, a title pattern or a contains pattern to pick the message "
                "(a pattern no message may hold goes in [[expect.no_messages]])",
            )
        return ExpectedMessage(
            problems.choice(f"{where}.severity", item["severity"], SEVERITIES)
            if "severity" in item
            else None,
            *(
                _pattern(problems, f"{where}.{key}", item[key]) if key in item else None
                for key in ("title", "contains", "not_contains")
            ),
        )

    return _entries(problems, "messages", raw, read)


def parse_no_messages(problems: _Problems, raw: Any) -> tuple[UnwantedMessage, ...]:
    """``[[expect.no_messages]]``: severity, kind, title and contains each (at least one)."""

    def read(where: str, item: dict[str, Any]) -> UnwantedMessage:
        problems.unknown(where, item, ("severity", "kind", "title", "contains"))
        if not item.keys() & {"severity", "kind", "title", "contains"}:
            problems.add(where, "needs a severity, a kind, a title or a contains pattern")
        severity = (
            problems.choice(f"{where}.severity", item["severity"], SEVERITIES)
            if "severity" in item
            else None
        )
        kind = (
            problems.choice(f"{where}.kind", item["kind"], MESSAGE_KINDS)
            if "kind" in item
            else None
        )
        title, contains = (
            _pattern(problems, f"{where}.{key}", item[key]) if key in item else None
            for key in ("title", "contains")
        )
        return UnwantedMessage(severity, kind, title, contains)

    return _entries(problems, "no_messages", raw, read)


def _count(problems: _Problems, where: str, value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MESSAGES:
        problems.add(where, f"must be a whole number from 0 to {MAX_MESSAGES}")
        return None
    return value


def parse_per_project(
    problems: _Problems, raw: Any, refs: tuple[str, ...]
) -> tuple[int | None, dict[str, int]]:
    """``max_messages_per_project = N`` (each project) or ``{ ref = N, ... }``."""
    where = "expect.max_messages_per_project"
    if not isinstance(raw, dict):
        return _count(problems, where, raw), {}
    each: dict[str, int] = {}
    for ref, value in raw.items():
        if all(refs) and ref not in refs:
            problems.add(f"{where}.{ref}", f"not a project of this scenario ({', '.join(refs)})")
        count = _count(problems, f"{where}.{ref}", value)
        if count is not None:
            each[str(ref)] = count
    return None, each


# -- checks -------------------------------------------------------------------------------


def _quote(message: dict[str, Any]) -> str:
    return f"{message.get('severity')} {message.get('kind', 'message')} at {_when(message)}: " + (
        f"{message.get('title', '')!r}"
    )


def match_messages(
    expected: tuple[ExpectedMessage, ...], sent: list[dict[str, Any]]
) -> tuple[bool, str]:
    """Whether every expected message was sent, in order (others may come between), and none
    of them holds what its entry says it must not."""
    position = 0
    found: list[str] = []
    for wanted in expected:
        while position < len(sent) and not wanted.matches(sent[position]):
            position += 1
        if position == len(sent):
            got = "; ".join(f"{m['severity']}: {m['title']}" for m in sent) or "nothing"
            done = f" after {', '.join(found)}" if found else ""
            return False, f"no {wanted.describe()} message{done}; sent: {got}"
        message = sent[position]
        if wanted.offends(message):
            return False, (
                f"{wanted.describe()}: the {_quote(message)} holds /{wanted.not_contains}/"
            )
        found.append(f"{wanted.describe()} at {_when(message)}")
        position += 1
    return True, f"in order: {', '.join(found)}"


def no_messages(
    unwanted: tuple[UnwantedMessage, ...], sent: list[dict[str, Any]]
) -> tuple[bool, str]:
    """Whether none of the unwanted messages was sent; the detail names each one that was."""
    bad = [
        f"{entry.describe()}: the {_quote(message)}"
        for entry in unwanted
        for message in sent
        if entry.matches(message)
    ]
    if bad:
        return False, "; ".join(bad)
    return True, f"none of {', '.join(e.describe() for e in unwanted)} among {len(sent)} sent"


def per_project(
    limits: dict[str, int], sent: list[dict[str, Any]], *, several: bool
) -> tuple[bool, str]:
    """Whether each project got at most its number of messages (provider-wide ones aside)."""
    counts = {ref: sum(1 for m in sent if m.get("project") == ref) for ref in limits}
    parts = [
        f"{ref[:6] + ': ' if several else ''}{counts[ref]} sent, at most {limit}"
        for ref, limit in limits.items()
    ]
    return all(counts[ref] <= limit for ref, limit in limits.items()), "; ".join(parts)
