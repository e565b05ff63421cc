"""Memory and CPU in the diagnosis and its alert: a warning before the services fail, the cause
when they do, an OOM said as one, swap spending the IO budget, and the size that holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.alerting.conditions import conditions
from sbwatch.alerting.words import evidence_lines, fact_line
from sbwatch.config.settings import EscalationSettings
from sbwatch.core.results import BudgetEstimate, DiagnosisKind, EscalationMode, ProbeState, Severity
from sbwatch.core.tiers import Tier
from sbwatch.policy import cpu, memory
from sbwatch.policy.diagnosis import Signals, diagnose
from sbwatch.policy.escalation import decide
from sbwatch.policy.memory import GIB, MemoryPoint

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
SUSTAIN = timedelta(minutes=15)
UP = {"db": ProbeState.UP, "rest": ProbeState.UP, "auth": ProbeState.UP}
DOWN = {**UP, "db": ProbeState.DOWN, "rest": ProbeState.DOWN}


def mem(
    used: float, minutes: int = 20, *, swap_free: float = 1.0, pages: float = 0.0
) -> memory.MemoryState | None:
    """The memory state after ``minutes`` of readings at ``used`` (1 GB machine, 1 GB swap)."""
    avail, free = GIB * (1 - used), GIB * swap_free
    points = [
        MemoryPoint(
            NOW - timedelta(minutes=minutes - m), GIB, avail, GIB, free, pages * m, pages * m, 0, 0
        )
        for m in range(minutes + 1)
    ]
    return memory.assess(points, NOW, SUSTAIN)


def sig(**kwargs: object) -> Signals:
    """Signals of the test project on micro with its services up unless said."""
    base: dict[str, object] = {"ref": REF, "now": NOW, "services": UP, "tier": Tier.MICRO}
    base.update(kwargs)
    return Signals(**base)  # type: ignore[arg-type]


def draining() -> BudgetEstimate:
    """An IO budget 40% left that runs out in 3 hours."""
    return BudgetEstimate(REF, NOW, Tier.MICRO, 0.4, 5.0, 3 * 3600.0, 0.9, throughput_mbps=40.0)


def test_ram_held_high_warns_before_the_services_fail_naming_the_size() -> None:
    """RAM 85% used for 20 minutes while every service answers: memory_exhausted as a warning,
    with the reading, what it means and the smallest size that holds the use."""
    found = diagnose(sig(memory=mem(0.85)))
    assert (DiagnosisKind.MEMORY_EXHAUSTED, True, Tier.SMALL) == (
        found.kind,
        found.ahead,
        found.holds,
    )
    assert [
        "RAM 85% used for 20m (above 75% consistently: the provider's sign of a size too small)",
        "small (2 GB) is the smallest size whose memory holds the 0.8 GB in use under 75%; "
        "micro has 1 GB",
    ] == evidence_lines(found.evidence)
    diag = conditions(found, None, None, None, budget_latched=False)[0]
    assert (Severity.WARNING, True) == (diag.severity, diag.active)
    assert "memory running short: the size is too small for the load" == diag.title


def test_one_high_scrape_is_no_warning() -> None:
    """RAM 90% for one minute is load, not a size too small: healthy."""
    assert DiagnosisKind.HEALTHY == diagnose(sig(memory=mem(0.9, minutes=1))).kind


def test_swapping_says_it_spends_the_io_budget() -> None:
    """Swap 80% used and 4 MB/s of swap traffic while the IO budget drains: the message says
    the swapping is what spends the budget, and when the budget runs out."""
    state = mem(0.9, swap_free=0.2, pages=30_000)
    found = diagnose(sig(memory=state, budget=draining()))
    assert DiagnosisKind.MEMORY_EXHAUSTED == found.kind
    assert [
        "RAM 90% used for 20m (above 75% consistently: the provider's sign of a size too small)",
        "swap 80% used (above 70%: the size is too small)",
        "swapping 4.1 MB/s on the root disk, which spends the disk IO budget: the budget "
        "(40% left) runs out in ~3h",
        "medium (4 GB) is the smallest size whose memory holds the 1.7 GB in use under 75%; "
        "micro has 1 GB",
    ] == evidence_lines(found.evidence)


def test_an_oom_is_the_cause_of_the_failure_before_the_io_budget() -> None:
    """Counters reset after memory was full while db and rest fail and the budget is used up:
    the OOM is the cause (critical), said as one, not the IO budget."""
    at = [NOW - timedelta(minutes=3 - m) for m in range(3)]
    full = [MemoryPoint(t, GIB, 0.01 * GIB, GIB, 0.05 * GIB, 9e5, 9e5, 50, 0) for t in at]
    rebooted = MemoryPoint(NOW, GIB, 0.5 * GIB, GIB, GIB, 0, 0, 0, 0)
    state = memory.assess([*full, rebooted], NOW, SUSTAIN)
    used_up = BudgetEstimate(REF, NOW, Tier.MICRO, 0.0, 5.0, 0.0, 0.9, throughput_mbps=11.0)
    found = diagnose(sig(memory=state, services=DOWN, budget=used_up, iowait_ratio=0.5))
    assert (DiagnosisKind.MEMORY_EXHAUSTED, False) == (found.kind, found.ahead)
    assert fact_line(found.evidence[0]) == (
        "out of memory at 11:59-12:00 UTC: the OOM killer struck and the machine restarted "
        "(its counters started again)"
    )
    assert "db probe down; rest probe down" == fact_line(found.evidence[1])
    diag = conditions(found, None, None, None, budget_latched=False)[0]
    assert (Severity.CRITICAL, "memory exhausted: services failing") == (diag.severity, diag.title)


def test_a_leak_is_told_before_it_swaps() -> None:
    """Free memory falling 5 MiB a minute with 300 MiB left: a warning with the time to swap
    and to the OOM, although no threshold is held yet."""
    mib = 1024**2
    points = [
        MemoryPoint(NOW - timedelta(minutes=60 - m), GIB, (600 - 5 * m) * mib, GIB, GIB)
        for m in range(61)
    ]
    found = diagnose(sig(memory=memory.assess(points, NOW, SUSTAIN)))
    assert (DiagnosisKind.MEMORY_EXHAUSTED, True) == (found.kind, found.ahead)
    assert fact_line(found.evidence[0]) == (
        "free memory falling steadily (a leak?): out of memory (OOM) in ~4h25m, when RAM and "
        "swap are full; RAM full (swapping) after ~50m"
    )


def test_ask_mode_proposes_the_size_that_holds() -> None:
    """In ask mode the lever is the command to the size that holds the memory, not merely the
    next size up."""
    found = diagnose(sig(memory=mem(0.9, swap_free=0.2)))
    policy = EscalationSettings(mode=EscalationMode.ASK, max_tier=Tier.LARGE, max_steps=3,
                                monthly_cost_cap_usd=100)  # fmt: skip
    decision = decide(found, None, policy, Tier.MICRO, [], NOW, ref=REF)
    assert ("ask", Tier.MEDIUM) == (decision.action, decision.target)
    body = conditions(found, None, None, decision, budget_latched=False)[0].body
    assert body.endswith(
        f"Proposed: raise micro -> medium (+$50.00/month)\nRun: sbwatch escalate {REF} --to medium"
    )


def test_cpu_saturated_warns_and_names_the_size_with_more_cpus() -> None:
    """CPU 95% busy (iowait apart) for 20 minutes: a warning naming xl, the smallest size with
    more CPUs, and why sbwatch will not raise it itself (above max_tier) with the command."""
    start = NOW - timedelta(minutes=20)
    points = [
        cpu.CpuPoint(start + timedelta(minutes=m), 120.0 * m, 114.0 * m, 2) for m in range(21)
    ]
    found = diagnose(sig(cpu=cpu.assess(points, SUSTAIN)))
    assert (DiagnosisKind.CPU_EXHAUSTED, True, Tier.XL) == (found.kind, found.ahead, found.holds)
    decision = decide(found, None, EscalationSettings(), Tier.MICRO, [], NOW, ref=REF)
    diag = conditions(found, None, None, decision, budget_latched=False)[0]
    assert (Severity.WARNING, "CPU saturated: the size is too small for the load") == (
        diag.severity,
        diag.title,
    )
    assert [
        "CPU 95% busy for 20m (iowait apart; above 90% that long: saturated)",
        "xl (4 CPUs) is the smallest size with more CPUs than micro (2)",
        f"sbwatch will not raise it itself (xl is above max_tier small). Run: sbwatch escalate "
        f"{REF} --to xl",
    ] == diag.body.split("\n")


def test_cpu_saturated_with_services_failing_is_the_cause() -> None:
    """The same CPU with db and rest down: cpu_exhausted, critical."""
    start = NOW - timedelta(minutes=20)
    points = [
        cpu.CpuPoint(start + timedelta(minutes=m), 120.0 * m, 118.0 * m, 2) for m in range(21)
    ]
    found = diagnose(sig(cpu=cpu.assess(points, SUSTAIN), services=DOWN))
    assert (DiagnosisKind.CPU_EXHAUSTED, False) == (found.kind, found.ahead)
    assert "db probe down; rest probe down" == fact_line(found.evidence[1])


def test_ram_held_high_does_not_explain_a_failure() -> None:
    """RAM 85% used for 20 minutes, no swap used, and the database and REST fail (the project
    was paused, say): memory is not why, and no size is raised for it; with swap 80% used it
    is."""
    found = diagnose(sig(memory=mem(0.85), services=DOWN))
    assert DiagnosisKind.MEMORY_EXHAUSTED != found.kind
    swapped = diagnose(sig(memory=mem(0.9, swap_free=0.2), services=DOWN))
    assert (DiagnosisKind.MEMORY_EXHAUSTED, False) == (swapped.kind, swapped.ahead)
