"""The words of the disk space alert and notices: how full ``/data`` is, when the database goes
read-only, why the disk cannot grow (the quota of changes, the spend cap) and the lever."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sbwatch.core.durations import format_duration
from sbwatch.policy.disk import DiskDecision, DiskForecast
from sbwatch.supabase.disk import CHANGES_PER_WINDOW, GB, SPEND_CAP_GB


def _when(at: datetime) -> str:
    return f"{at:%a %H:%M} UTC"


def disk_title(fc: DiskForecast) -> str:
    """One line: how full, and when the database goes read-only."""
    if fc.read_only_eta_s == 0:
        return f"database read-only: disk {fc.used_ratio:.0%} full"
    if fc.read_only_eta_s is None:
        return f"disk {fc.used_ratio:.0%} full"
    return (
        f"disk {fc.used_ratio:.0%} full: database read-only in "
        f"~{format_duration(fc.read_only_eta_s)}"
    )


def cannot_grow(fc: DiskForecast) -> str:
    """Why the provider will not grow the disk in time ("" when nothing stops it)."""
    if fc.blocked_by == "spend_cap":
        return (
            f"The organization's spend cap holds the disk at {SPEND_CAP_GB} GB: turn the spend "
            "cap off, or free space."
        )
    if fc.blocked_by != "quota":
        return ""
    frees = fc.frees_at or fc.quota.frees_at
    until = f"; the next change is allowed at {_when(frees)}" if frees is not None else ""
    after = (
        f" after {fc.autoscales} more autoscale{'s' if fc.autoscales != 1 else ''}"
        if fc.autoscales
        else ""
    )
    return (
        f"The provider cannot grow it: its quota of {CHANGES_PER_WINDOW} disk changes in 24 h "
        f"is spent{after}{until}."
    )


def disk_lines(fc: DiskForecast, decision: DiskDecision | None) -> list[str]:
    """The facts and the lever, one line each."""
    used, size = fc.used_bytes / GB, fc.size_bytes / GB
    rate = fc.rate_bytes_s
    filling = f", filling {rate * 3600 / GB:.2f} GB/h" if rate is not None and rate > 0 else ""
    lines = [f"/data: {used:.1f} of {size:.0f} GB used{filling}."]
    if fc.quota.used:
        lines.append(
            f"{fc.quota.used} of the {CHANGES_PER_WINDOW} disk changes the provider allows in "
            "24 h made."
        )
    if fc.read_only_eta_s == 0:
        lines.append("Writes fail (cannot execute ... in a read-only transaction).")
    else:
        lines.append(
            "The provider grows the disk by 50% at 90% full; at 95% with no growth possible "
            "the database goes read-only."
        )
    blocked = cannot_grow(fc)
    if blocked:
        lines.append(blocked)
    lines += lever_lines(decision)
    return lines


def lever_lines(decision: DiskDecision | None) -> list[str]:
    """What sbwatch proposes or why it does not grow the disk itself."""
    if decision is None:
        return []
    if decision.action == "ask" and decision.command:
        return [f"Proposed: {decision.reason}", f"Run: {decision.command}"]
    if decision.action == "none" and "quota" in decision.reason:
        return ["sbwatch cannot grow it either until then: a disk change now would be refused."]
    if decision.action == "none" and decision.target_gb is not None:
        return [decision.reason]
    return []


def growing_title(from_gb: int, to_gb: int, delta_usd: float | None) -> str:
    """The notice of a disk change sbwatch makes."""
    return f"growing the disk {from_gb} -> {to_gb} GB (+${delta_usd or 0.0:.2f}/month)"


def growing_body(fc: DiskForecast, reason: str) -> str:
    """Why sbwatch grows the disk now."""
    eta = fc.read_only_eta_s
    why = (
        f"Without it the database would go read-only in ~{format_duration(eta)}"
        if eta is not None
        else "The disk is nearly full"
    )
    return "\n".join(
        [
            f"{why}: {cannot_grow(fc) or 'the provider would not grow it in time.'}",
            f"sbwatch makes one change instead ({reason}); it counts toward the provider's "
            f"{CHANGES_PER_WINDOW} a day.",
        ]
    )


def failed_title(to_gb: int) -> str:
    """A disk change that did not go through."""
    return f"could not grow the disk to {to_gb} GB"


def disk_line(disk: dict[str, Any]) -> str:
    """How full /data is, how fast it fills, and when the database would go read-only."""
    line = f"{disk['used_ratio']:.0%} of {disk['size_gb']:.0f} GB used"
    rate = disk["fill_gb_per_hour"]
    if rate is not None and rate > 0:
        line += f", filling {rate:.2f} GB/h"
    eta = disk["read_only_eta_s"]
    if eta == 0:
        line += "; READ-ONLY"
    elif eta is not None:
        line += f"; read-only in ~{format_duration(eta)}"
    line += f"; {disk['changes_24h']} of 4 disk changes in 24 h"
    if disk["frees_at"] and (disk["quota_spent"] or disk["blocked_by"] == "quota"):
        frees = datetime.fromisoformat(disk["frees_at"])
        line += f" (the next allowed at {frees:%a %H:%M} UTC)"
    return line
