"""The disk: how full, when it goes read-only, what stops the provider growing it, and the
notices of a disk change sbwatch makes or proposes."""

from __future__ import annotations

from datetime import datetime

from sbwatch.alerting.words.sizes import escalate_command
from sbwatch.core.durations import format_duration
from sbwatch.policy.disk import DiskDecision, DiskForecast, DiskReason, DiskWhy
from sbwatch.supabase.disk import CHANGES_PER_WINDOW, GB, SPEND_CAP_GB


def _when(at: datetime) -> str:
    return f"{at:%a %H:%M} UTC"


def disk_change(decision: DiskDecision) -> str:
    """The proposed disk change in a few words."""
    delta = decision.monthly_cost_delta_usd or 0.0
    return f"grow the disk {decision.current_gb} -> {decision.target_gb} GB (+${delta:.2f}/month)"


def disk_reason(decision: DiskDecision) -> str:
    """Why, in one line: for the journal, the logs and the phone."""
    reason = decision.reason
    match reason.why:
        case DiskWhy.GROW | DiskWhy.ASK:
            return disk_change(decision)
        case DiskWhy.OFF:
            return f"escalation off; would {disk_change(decision)}"
        case DiskWhy.MAX_GB:
            return f"the disk is {decision.current_gb} GB; max_gb is {reason.max_gb}"
        case _:
            return _disk_held(reason)


def _disk_held(reason: DiskReason) -> str:
    match reason.why:
        case DiskWhy.SIZE_UNKNOWN:
            return "disk size unknown"
        case DiskWhy.NOT_AHEAD:
            return "no read-only ahead within the horizon"
        case DiskWhy.UNDER_WAY:
            return "a disk change is under way"
        case DiskWhy.QUOTA_SPENT:
            frees = reason.frees_at
            when = f"; the next is allowed at {_when(frees)}" if frees else ""
            return (
                f"the quota of {CHANGES_PER_WINDOW} disk changes in 24 h is spent{when}: a change "
                "now would be refused"
            )
        case DiskWhy.SPEND_CAP:
            return f"the spend cap holds the disk at {SPEND_CAP_GB} GB: turn it off"
        case DiskWhy.FAILED:
            return f"the last disk change failed; retry in {format_duration(reason.left_s)}"
        case DiskWhy.COOLDOWN:
            return f"cooldown after the last change: {format_duration(reason.left_s)}"
        case DiskWhy.COST_CAP:
            return (
                f"a bigger disk costs more than the cap of ${reason.cap_usd:.2f}/month "
                f"with compute at ${reason.compute_usd:.2f}/month"
            )
        case _:
            raise ValueError(f"{reason.why} proposes a size")


DISK_SPACE_NAME = "disk space"
"""The disk space condition's title while nothing forecasts it (an inactive condition)."""


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


def disk_lines(fc: DiskForecast, decision: DiskDecision | None, ref: str) -> list[str]:
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
    lines += lever_lines(decision, ref)
    return lines


def lever_lines(decision: DiskDecision | None, ref: str) -> list[str]:
    """What sbwatch proposes or why it does not grow the disk itself."""
    if decision is None:
        return []
    if decision.action == "ask" and decision.target_gb is not None:
        command = escalate_command(ref, disk_gb=decision.target_gb)
        return [f"Proposed: {disk_reason(decision)}", f"Run: {command}"]
    if decision.action == "none" and decision.reason.why is DiskWhy.QUOTA_SPENT:
        return ["sbwatch cannot grow it either until then: a disk change now would be refused."]
    if decision.action == "none" and decision.target_gb is not None:
        return [disk_reason(decision)]
    return []


def growing_title(from_gb: int, to_gb: int, delta_usd: float | None) -> str:
    """The notice of a disk change sbwatch makes."""
    return f"growing the disk {from_gb} -> {to_gb} GB (+${delta_usd or 0.0:.2f}/month)"


def growing_body(fc: DiskForecast, decision: DiskDecision) -> str:
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
            f"sbwatch makes one change instead ({disk_reason(decision)}); it counts toward the "
            f"provider's {CHANGES_PER_WINDOW} a day.",
        ]
    )


def failed_title(to_gb: int) -> str:
    """A disk change that did not go through."""
    return f"could not grow the disk to {to_gb} GB"


def failed_disk_body(detail: str, ref: str, to_gb: int) -> str:
    """What went wrong with a disk change, and the command to try it by hand."""
    return f"{detail}\nRun: {escalate_command(ref, disk_gb=to_gb)}"
