"""``[[maintenance]]`` in a scenario: windows on the replay's timeline, as the daemon's
``[[maintenance]]`` configuration (nothing pages and nothing escalates inside one).

Each table: ``start`` (a time on the timeline, like ``1h``), ``end`` or ``duration`` (one of
them), ``reason`` (default "maintenance") and ``ref`` (one project; default every project).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the scenario module imports this one
    from sbwatch.sim.scenario import _Problems

KEYS = ("start", "end", "duration", "reason", "ref")


@dataclass(frozen=True)
class ScenarioWindow:
    """A maintenance window from ``start_s`` to ``end_s`` after the replay starts."""

    start_s: float
    end_s: float
    reason: str = "maintenance"
    ref: str | None = None
    """One project; None: every project."""

    def settings(self, start: datetime) -> dict[str, Any]:
        """The daemon's ``[[maintenance]]`` entry for a replay starting at ``start``."""
        return {
            "project": self.ref or "*",
            "start": start + timedelta(seconds=self.start_s),
            "end": start + timedelta(seconds=self.end_s),
            "reason": self.reason,
        }


def parse_windows(
    problems: _Problems, raw: Any, refs: tuple[str, ...]
) -> tuple[ScenarioWindow, ...]:
    """Every ``[[maintenance]]`` table, problems named ``maintenance[i].key``."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        problems.add("maintenance", "must be an array of tables ([[maintenance]])")
        return ()
    return tuple(
        window
        for index, item in enumerate(raw)
        if (window := _window(problems, f"maintenance[{index}]", item, refs)) is not None
    )


def _window(
    problems: _Problems, where: str, item: dict[str, Any], refs: tuple[str, ...]
) -> ScenarioWindow | None:
    problems.unknown(where, item, KEYS)
    if "start" not in item:
        problems.add(f"{where}.start", "required: when it starts, like '1h'")
        return None
    start = problems.seconds(f"{where}.start", item["start"])
    if ("end" in item) == ("duration" in item):
        problems.add(f"{where}.end", "give end or duration (one of them)")
        return None
    if "end" in item:
        end = problems.seconds(f"{where}.end", item["end"])
    else:
        length = problems.seconds(f"{where}.duration", item["duration"])
        end = None if start is None or length is None else start + length
    reason = item.get("reason", "maintenance")
    if not isinstance(reason, str):
        problems.add(f"{where}.reason", "must be a string")
    ref = item.get("ref")
    if ref is not None and (not isinstance(ref, str) or (all(refs) and ref not in refs)):
        problems.add(f"{where}.ref", f"not a project of this scenario ({', '.join(refs)})")
    if start is None or end is None:
        return None
    if end <= start:
        problems.add(f"{where}.end", "must be after start")
        return None
    return ScenarioWindow(start, end, str(reason), ref if isinstance(ref, str) else None)
