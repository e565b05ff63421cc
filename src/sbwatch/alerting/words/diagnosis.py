"""The diagnosis's evidence in words: each fact the policy finds (``core.facts``) as the one
line the phone, the logs, ``sbwatch status`` and the stored diagnoses read."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from sbwatch.alerting.words.limits import pool_line
from sbwatch.core.connections import DIRECT, POOLER
from sbwatch.core.durations import format_duration
from sbwatch.core.facts import Fact, FactKind, recorded
from sbwatch.core.results import Diagnosis
from sbwatch.core.tiers import CPUS, MEMORY_GB, Tier
from sbwatch.policy.memory import GIB

_SAID: dict[FactKind, str] = {
    FactKind.PG_DOWN: "pg_up = 0",
    FactKind.INCOMPLETE: "signals are incomplete or contradictory",
    FactKind.NO_SIGNALS: "no probe, management API or budget signal yet",
    FactKind.TRANSPORT_FAILED: "own probes fail at transport level",
    FactKind.API_UNREACHABLE: "management API unreachable",
    FactKind.STATUS_UNREACHABLE: "status page unreachable",
    FactKind.OTHERS_REACHABLE: "other targets reachable",
    FactKind.NO_OUTSIDE: (
        "nothing outside read since the failures began to tell our network from the provider's"
    ),
    FactKind.WAITING_FOR_API: "waiting for the Management API to say why",
    FactKind.WRITES_REFUSED: "the database refuses writes: in a read-only transaction",
    FactKind.STATUS_GREEN: "status page green (the cause is the project's own)",
    FactKind.REST_ANSWERS: "REST answers: the database serves",
}
"""The facts without figures."""

REFUSED_LINES = {
    DIRECT: "the database refuses connections: too many connections",
    POOLER: "the pooler refuses clients: max clients reached",
}
"""The db probe refused for want of room, by the pool that refused it."""


def fact_line(fact: Fact) -> str:
    """One fact of a diagnosis in one line."""
    if fact.kind in _SAID:
        return _SAID[fact.kind]
    match fact.kind:
        case FactKind.KEY_REJECTED:
            return f"{fact.service} probe down: the key is rejected (HTTP {fact.code}), check it"
        case FactKind.PROBE_DOWN:
            return f"{fact.service} probe down"
        case FactKind.ORIGIN_TIMEOUT:
            return f"{fact.service} answered {fact.code} (origin timeout)"
        case FactKind.API_UNHEALTHY:
            return f"management API reports {fact.service} UNHEALTHY"
        case FactKind.FAILING:
            return "; ".join(fact_line(f) for f in fact.facts)
        case FactKind.ANSWERING:
            return f"{', '.join(fact.services)} answering (own probes)"
        case FactKind.FAILED_BEFORE:
            return (
                f"{', '.join(fact.services)} failed without an answer before our other probes "
                "were answered again: waiting for their next run"
            )
        case FactKind.API_HEALTHY:
            return f"{', '.join(fact.services)} healthy (management API)"
        case FactKind.API_DISAGREES:
            return f"management API disagrees: {', '.join(fact.services)} UNHEALTHY"
        case FactKind.PROJECT_STATUS:
            return f"project status {fact.status}"
        case FactKind.QUOTA_REFUSED:
            return (
                f"{', '.join(fact.services)} answered HTTP 402: the organization's services "
                "are restricted"
            )
        case FactKind.DISK_USED:
            return f"disk {fact.ratio:.0%} used" + (" (read-only mode)" if fact.full else "")
        case FactKind.POOL:
            return pool_line(fact)
        case FactKind.POOL_REFUSED:
            assert fact.pool is not None
            return REFUSED_LINES[fact.pool]
        case FactKind.RECORDED:
            assert fact.text is not None
            return fact.text
        # the IO budget
        case FactKind.BUDGET_EMPTY:
            return f"IO budget {fact.ratio:.0%} left (estimate confidence {fact.confidence:.2f})"
        case FactKind.THROUGHPUT_HELD:
            return (
                f"throughput {fact.rate:.1f} MB/s flat at the {fact.tier} baseline "
                f"{fact.baseline:g} MB/s"
            )
        case FactKind.IOPS_HELD:
            return (
                f"{fact.rate:.0f} IOPS flat at the {fact.tier} baseline of {fact.baseline:g} IOPS"
            )
        case FactKind.THROTTLED_IOWAIT:
            return f"iowait {fact.ratio:.0%} with {_held(fact)}"
        case FactKind.THROTTLED_LOW:
            return f"{_held(fact)} with the IO budget {fact.ratio:.0%} left"
        case FactKind.THROTTLED_SLOW:
            return (
                f"{fact.service} answered in {_figure(fact.seconds):.1f}s as the IO budget "
                "ran out: the disks' queue building"
            )
        case FactKind.BUDGET_RUNS_OUT:
            return f"IO budget forecast to run out in ~{format_duration(_figure(fact.seconds))}"
        case FactKind.BUDGET_LEFT:
            return f"IO budget {fact.ratio:.0%} left"
        # the provider's emails and status page
        case FactKind.EMAIL:
            assert fact.at is not None
            trust = "trusted" if fact.trusted else f"untrusted ({fact.reason})"
            return f"{trust} {fact.email} email at {fact.at.isoformat()}"
        case FactKind.TRUSTED_EMAIL:
            return f"trusted {fact.email} email from {fact.sender}"
        case FactKind.STATUS_INDICATOR:
            return f"status page indicator {fact.status}"
        case FactKind.STATUS_BAD:
            bad = [f"{name}: {status}" for name, status in fact.components]
            return f"status page indicator {fact.status} {bad}".rstrip()
        # memory and the CPUs
        case FactKind.OOM:
            return (
                f"out of memory at {fact.since:%H:%M}-{fact.at:%H:%M} UTC: the OOM killer struck "
                "and the machine restarted (its counters started again)"
            )
        case FactKind.RAM_HELD:
            return (
                f"RAM {fact.ratio:.0%} used for {format_duration(_figure(fact.seconds))} (above "
                f"{fact.above:.0%} consistently: the provider's sign of a size too small)"
            )
        case FactKind.SWAP_HIGH:
            return f"swap {fact.ratio:.0%} used (above {fact.above:.0%}: the size is too small)"
        case FactKind.SWAPPING:
            line = (
                f"swapping {fact.rate:.1f} MB/s on the root disk, which spends the disk IO budget"
            )
            if fact.seconds is not None:
                line += (
                    f": the budget ({fact.ratio:.0%} left) runs out in "
                    f"~{format_duration(fact.seconds)}"
                )
            return line
        case FactKind.LEAK:
            line = (
                "free memory falling steadily (a leak?): out of memory (OOM) in "
                f"~{_about(_figure(fact.seconds))}, when RAM and swap are full"
            )
            if fact.swap_s is not None and fact.swap_s > 0:
                line += f"; RAM full (swapping) after ~{_about(fact.swap_s)}"
            return line
        case FactKind.RAM_USED:
            return f"RAM {fact.ratio:.0%} used"
        case FactKind.MEMORY_HOLDS:
            holds, tier = _size(fact.holds), _size(fact.tier)
            return (
                f"{holds} ({MEMORY_GB[holds]:g} GB) is the smallest size whose memory holds the "
                f"{_figure(fact.size_bytes) / GIB:.1f} GB in use under {fact.above:.0%}; {tier} "
                f"has {MEMORY_GB[tier]:g} GB"
            )
        case FactKind.CPU_HELD:
            return (
                f"CPU {fact.ratio:.0%} busy for {format_duration(_figure(fact.seconds))} "
                f"(iowait apart; above {fact.above:.0%} that long: saturated)"
            )
        case FactKind.CPU_BUSY:
            return f"CPU {fact.ratio:.0%} busy"
        case FactKind.CPU_HOLDS:
            holds, tier = _size(fact.holds), _size(fact.tier)
            return (
                f"{holds} ({CPUS[holds]} CPUs) is the smallest size with more CPUs than "
                f"{tier} ({CPUS[tier]})"
            )
        case _:
            raise ValueError(f"no words for the fact {fact.kind}")


def _held(fact: Fact) -> str:
    """The IO held at a baseline that a throttle's fact carries."""
    return "; ".join(fact_line(f) for f in fact.facts)


def _figure(value: float | None) -> float:
    """A figure the fact's kind always carries."""
    assert value is not None, "the kind carries this figure"
    return value


def _size(tier: Tier | None) -> Tier:
    """A size the fact's kind always carries."""
    assert tier is not None, "the kind carries this size"
    return tier


def _about(seconds: float) -> str:
    """A forecast to the minute: a leak's figure is no finer than that."""
    return format_duration(max(60.0, round(seconds / 60) * 60))


def evidence_lines(facts: Iterable[Fact]) -> list[str]:
    """Each fact in its line, in order."""
    return [fact_line(f) for f in facts]


def as_recorded(diagnosis: Diagnosis) -> Diagnosis:
    """The diagnosis as the store keeps it: its facts said, each line a ``RECORDED`` fact
    (the diagnoses table holds the words; a stored diagnosis is history)."""
    lines = evidence_lines(diagnosis.evidence)
    return replace(diagnosis, evidence=tuple(recorded(line) for line in lines))
