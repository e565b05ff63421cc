"""The words of memory, swap and the CPUs in ``sbwatch status``: the reading against the
provider's lines, a leak's forecast, the last OOM and the size that holds the use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sbwatch.core.durations import format_duration


def memory_line(doc: dict[str, Any]) -> str:
    """One line: RAM and swap in use, how long RAM has been high, a leak, an OOM, the lever."""
    line = f"RAM {doc['used_ratio']:.0%} used"
    if doc["held"]:
        line += f" (above 75% for {format_duration(doc['high_for_s'])})"
    if doc["swap_ratio"] is not None:
        line += f", swap {doc['swap_ratio']:.0%}"
    if doc["oom_eta_s"] is not None:
        line += f"; falling steadily: out of memory in ~{format_duration(doc['oom_eta_s'])}"
    if doc["oom_at"]:
        line += f"; OOM seen at {datetime.fromisoformat(doc['oom_at']):%a %H:%M} UTC"
    if doc["holds"]:
        line += (
            f"; {doc['holds']} ({doc['holds_gb']:g} GB) holds the {doc['need_gb']:.1f} GB in use"
        )
    return line


def cpu_line(doc: dict[str, Any]) -> str:
    """One line: CPU busy (iowait apart), how long above 90%, the size with more CPUs."""
    line = f"{doc['busy_ratio']:.0%} busy of {doc['cpus']} CPUs (iowait apart)"
    if doc["held"]:
        line += f", above 90% for {format_duration(doc['busy_for_s'])}"
    if doc["more"]:
        line += f"; {doc['more']} has {doc['more_cpus']} CPUs"
    return line
