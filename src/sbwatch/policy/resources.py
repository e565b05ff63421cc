"""Memory and CPU findings for the diagnosis: before the services fail, and as their cause (pure).

Each finding carries its evidence as facts (the reading, what it means, the swap it drives into
the IO budget, the size that holds the use; ``alerting.words.diagnosis`` says them) and that
size, the lever a bigger compute size pulls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sbwatch.core.facts import Fact, FactKind
from sbwatch.core.results import BudgetEstimate
from sbwatch.core.tiers import Tier
from sbwatch.policy.cpu import CPU_BUSY_HIGH, CpuState, more_cpus
from sbwatch.policy.memory import OOM_FULL, RAM_HIGH, SWAP_HIGH, MemoryState, holding_size

EVIDENCE_SHOWN = 4
"""An alert shows this many evidence lines: the lever's line is kept among them."""
OOM_NOTICE = timedelta(hours=1)
"""An OOM is said (a warning of its own) for this long after it."""


@dataclass(frozen=True)
class Finding:
    """A memory or CPU problem: how sure, the evidence, before failure or not, and the lever."""

    confidence: float
    evidence: list[Fact]
    ahead: bool
    holds: Tier | None
    oom_eta_s: float | None = None
    """Memory only: the time to the OOM a steady leak runs to."""
    leaking: bool = False
    """Memory only: a leak, now or up to the last OOM (``MemoryState.leaking``)."""


def _oom_recent(state: MemoryState, now: datetime) -> bool:
    return state.oom_at is not None and now - state.oom_at < OOM_NOTICE


def memory_facts(
    state: MemoryState, now: datetime, budget: BudgetEstimate | None, warn_within_s: float
) -> list[Fact]:
    """What the readings say, one fact each, the most telling first ([] when nothing)."""
    facts: list[Fact] = []
    if _oom_recent(state, now):
        assert state.oom_at is not None
        since = state.oom_after or state.oom_at
        facts.append(Fact(FactKind.OOM, since=since, at=state.oom_at))
    if state.held:
        facts.append(
            Fact(
                FactKind.RAM_HELD, ratio=state.used_ratio, seconds=state.high_for_s, above=RAM_HIGH
            )
        )
    if state.swap_high and state.swap_ratio is not None:
        facts.append(Fact(FactKind.SWAP_HIGH, ratio=state.swap_ratio, above=SWAP_HIGH))
    if state.swapping and state.swap_io_mbps is not None:
        runs_out = budget if budget is not None and budget.eta_s is not None else None
        facts.append(
            Fact(
                FactKind.SWAPPING,
                rate=state.swap_io_mbps,
                ratio=None if runs_out is None else runs_out.ratio,
                seconds=None if runs_out is None else runs_out.eta_s,
            )
        )
    leak = state.oom_eta_s
    if leak is not None and leak <= warn_within_s:
        facts.append(Fact(FactKind.LEAK, seconds=leak, swap_s=state.swap_eta_s))
    return facts


def memory_finding(
    state: MemoryState | None,
    tier: Tier | None,
    *,
    now: datetime,
    failing: Sequence[Fact],
    budget: BudgetEstimate | None,
    warn_within_s: float,
    available_ratio: float | None = None,
    low: float = 0.05,
) -> Finding | None:
    """Memory is why the services fail (``failing``), or will be (ahead); None when neither."""
    lines = [] if state is None else memory_facts(state, now, budget, warn_within_s)
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
            lines.append(Fact(FactKind.RAM_USED, ratio=ratio))
        lines.insert(1, Fact(FactKind.FAILING, facts=tuple(failing)))
    elif not lines:
        return None
    holds = None if state is None or tier is None else holding_size(state.need_bytes, tier)
    lines = lines[: EVIDENCE_SHOWN - (holds is not None)]
    if holds is not None and state is not None and tier is not None:
        lines.append(
            Fact(
                FactKind.MEMORY_HOLDS,
                holds=holds,
                tier=tier,
                size_bytes=state.need_bytes,
                above=RAM_HIGH,
            )
        )
    oom = None if state is None else state.oom_eta_s
    leaking = state is not None and state.leaking
    return Finding(0.85 if failing else 0.7, lines, not failing, holds, oom, leaking)


def cpu_finding(
    state: CpuState | None,
    tier: Tier | None,
    *,
    failing: Sequence[Fact],
    busy_ratio: float | None = None,
) -> Finding | None:
    """The CPUs are why the services fail, or saturated while they still answer."""
    if state is not None and state.held:
        line = Fact(
            FactKind.CPU_HELD, ratio=state.busy_ratio, seconds=state.busy_for_s, above=CPU_BUSY_HIGH
        )
    elif failing and busy_ratio is not None and busy_ratio >= CPU_BUSY_HIGH:
        line = Fact(FactKind.CPU_BUSY, ratio=busy_ratio)
    else:
        return None
    lines = [line, Fact(FactKind.FAILING, facts=tuple(failing))] if failing else [line]
    holds = None if tier is None else more_cpus(tier)
    if tier is not None and holds is not None:
        lines.append(Fact(FactKind.CPU_HOLDS, holds=holds, tier=tier))
    return Finding(0.8 if failing else 0.7, lines, not failing, holds)
