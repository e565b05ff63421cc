"""Memory and CPU findings for the diagnosis: before the services fail, and as their cause (pure).

Each finding carries its evidence (the reading, what it means, the swap it drives into the IO
budget, the size that holds the use) and that size, the lever a bigger compute size pulls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sbwatch.core.durations import format_duration
from sbwatch.core.results import BudgetEstimate
from sbwatch.core.tiers import CPUS, MEMORY_GB, Tier
from sbwatch.policy.cpu import CPU_BUSY_HIGH, CpuState, more_cpus
from sbwatch.policy.memory import GIB, OOM_FULL, RAM_HIGH, SWAP_HIGH, MemoryState, holding_size

EVIDENCE_SHOWN = 4
"""An alert shows this many evidence lines: the lever's line is kept among them."""
OOM_LINE = "out of memory at"
"""How the evidence of an OOM begins (the alert's cause tells it apart)."""
OOM_NOTICE = timedelta(hours=1)
"""An OOM is said (a warning of its own) for this long after it."""


@dataclass(frozen=True)
class Finding:
    """A memory or CPU problem: how sure, the evidence, before failure or not, and the lever."""

    confidence: float
    evidence: list[str]
    ahead: bool
    holds: Tier | None
    oom_eta_s: float | None = None
    """Memory only: the time to the OOM a steady leak runs to."""
    leaking: bool = False
    """Memory only: a leak, now or up to the last OOM (``MemoryState.leaking``)."""


def _about(seconds: float) -> str:
    """A forecast to the minute: a leak's figure is no finer than that."""
    return format_duration(max(60.0, round(seconds / 60) * 60))


def _gb(value: float) -> str:
    return f"{value / GIB:.1f} GB"


def _oom_recent(state: MemoryState, now: datetime) -> bool:
    return state.oom_at is not None and now - state.oom_at < OOM_NOTICE


def memory_lines(
    state: MemoryState, now: datetime, budget: BudgetEstimate | None, warn_within_s: float
) -> list[str]:
    """What the readings say, one fact a line, the most telling first ([] when nothing)."""
    lines: list[str] = []
    if _oom_recent(state, now):
        assert state.oom_at is not None
        since = state.oom_after or state.oom_at
        lines.append(
            f"{OOM_LINE} {since:%H:%M}-{state.oom_at:%H:%M} UTC: the OOM killer struck and the "
            "machine restarted (its counters started again)"
        )
    if state.held:
        lines.append(
            f"RAM {state.used_ratio:.0%} used for {format_duration(state.high_for_s)} (above "
            f"{RAM_HIGH:.0%} consistently: the provider's sign of a size too small)"
        )
    if state.swap_high and state.swap_ratio is not None:
        lines.append(
            f"swap {state.swap_ratio:.0%} used (above {SWAP_HIGH:.0%}: the size is too small)"
        )
    if state.swapping and state.swap_io_mbps is not None:
        line = (
            f"swapping {state.swap_io_mbps:.1f} MB/s on the root disk, which spends the disk IO "
            "budget"
        )
        if budget is not None and budget.eta_s is not None:
            line += (
                f": the budget ({budget.ratio:.0%} left) runs out in "
                f"~{format_duration(budget.eta_s)}"
            )
        lines.append(line)
    leak = state.oom_eta_s
    if leak is not None and leak <= warn_within_s:
        swap = state.swap_eta_s
        line = (
            f"free memory falling steadily (a leak?): out of memory (OOM) in ~{_about(leak)}, "
            "when RAM and swap are full"
        )
        if swap is not None and swap > 0:
            line += f"; RAM full (swapping) after ~{_about(swap)}"
        lines.append(line)
    return lines


def memory_finding(
    state: MemoryState | None,
    tier: Tier | None,
    *,
    now: datetime,
    failing: list[str],
    budget: BudgetEstimate | None,
    warn_within_s: float,
    available_ratio: float | None = None,
    low: float = 0.05,
) -> Finding | None:
    """Memory is why the services fail (``failing``), or will be (ahead); None when neither."""
    lines = [] if state is None else memory_lines(state, now, budget, warn_within_s)
    if failing:
        # Only memory that is truly gone explains failing services: RAM full, swap above the
        # provider's threshold, an OOM just now, or almost nothing available. RAM used above
        # 75% for a while is a warning of what comes, not the cause of a pause or an outage.
        full = state is not None and state.used_ratio >= OOM_FULL
        acute = state is not None and (state.swap_high or _oom_recent(state, now))
        scarce = available_ratio is not None and available_ratio <= low
        if not full and not acute and not scarce:
            return None
        if not lines:
            ratio = state.used_ratio if state is not None else 1 - (available_ratio or 0.0)
            lines.append(f"RAM {ratio:.0%} used")
        lines.insert(1, "; ".join(failing))
    elif not lines:
        return None
    holds = None if state is None or tier is None else holding_size(state.need_bytes, tier)
    lines = lines[: EVIDENCE_SHOWN - (holds is not None)]
    if holds is not None and state is not None and tier is not None:
        lines.append(
            f"{holds} ({MEMORY_GB[holds]:g} GB) is the smallest size whose memory holds the "
            f"{_gb(state.need_bytes)} in use under {RAM_HIGH:.0%}; {tier} has "
            f"{MEMORY_GB[tier]:g} GB"
        )
    oom = None if state is None else state.oom_eta_s
    leaking = state is not None and state.leaking
    return Finding(0.85 if failing else 0.7, lines, not failing, holds, oom, leaking)


def cpu_finding(
    state: CpuState | None,
    tier: Tier | None,
    *,
    failing: list[str],
    busy_ratio: float | None = None,
) -> Finding | None:
    """The CPUs are why the services fail, or saturated while they still answer."""
    if state is not None and state.held:
        line = (
            f"CPU {state.busy_ratio:.0%} busy for {format_duration(state.busy_for_s)} "
            f"(iowait apart; above {CPU_BUSY_HIGH:.0%} that long: saturated)"
        )
    elif failing and busy_ratio is not None and busy_ratio >= CPU_BUSY_HIGH:
        line = f"CPU {busy_ratio:.0%} busy"
    else:
        return None
    lines = [line, "; ".join(failing)] if failing else [line]
    holds = None if tier is None else more_cpus(tier)
    if tier is not None and holds is not None:
        lines.append(
            f"{holds} ({CPUS[holds]} CPUs) is the smallest size with more CPUs than "
            f"{tier} ({CPUS[tier]})"
        )
    return Finding(0.8 if failing else 0.7, lines, not failing, holds)
