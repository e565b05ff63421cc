"""From a diagnosis, a budget forecast and an escalation decision to alert conditions (pure)."""

from __future__ import annotations

from sbwatch.core.durations import format_duration
from sbwatch.core.results import BudgetEstimate, Diagnosis, DiagnosisKind, Severity
from sbwatch.policy.alerts import Condition
from sbwatch.policy.budget import EXHAUSTED_RATIO
from sbwatch.policy.escalation import EscalationDecision

IO_KINDS = frozenset({DiagnosisKind.IO_BUDGET_LOW, DiagnosisKind.IO_BUDGET_EXHAUSTED})
FOLDING = frozenset({DiagnosisKind.LOCAL_NETWORK, DiagnosisKind.PLATFORM_OUTAGE})
LATCH_RELEASE_RATIO = 0.95
"""An IO budget alert, once raised, holds until the estimate refills to this."""
IO_SUBJECT = "io_budget"
"""The alert subject of the IO budget (forecast, low, used up)."""
QUIET = frozenset({DiagnosisKind.HEALTHY, *IO_KINDS})

_HEADLINE: dict[DiagnosisKind, str] = {
    DiagnosisKind.CPU_EXHAUSTED: "CPU exhausted: services failing",
    DiagnosisKind.MEMORY_EXHAUSTED: "memory exhausted: services failing",
    DiagnosisKind.DISK_FULL: "disk almost full: database read-only",
    DiagnosisKind.PLATFORM_OUTAGE: "Supabase platform outage (not this project's resources)",
    DiagnosisKind.LOCAL_NETWORK: "sbwatch cannot reach anything: our own network is down",
    DiagnosisKind.PROJECT_PAUSED: "project is paused",
    DiagnosisKind.UNKNOWN: "services failing for an unknown reason",
}

_WAIT = {
    DiagnosisKind.PLATFORM_OUTAGE: (
        "A bigger compute size would not help; sbwatch waits for the provider."
    ),
    DiagnosisKind.LOCAL_NETWORK: "Check the network of the machine running sbwatch.",
}


def headline(diagnosis: Diagnosis) -> str:
    """One line naming what is wrong (a diagnosis, never a probe name)."""
    if diagnosis.kind is DiagnosisKind.SERVICE_DOWN:
        return f"{diagnosis.service or 'a service'} is down"
    return _HEADLINE.get(diagnosis.kind, diagnosis.kind.value.replace("_", " "))


def budget_title(diagnosis: Diagnosis, budget: BudgetEstimate | None) -> str:
    """The IO budget line: exhausted, or what is left and when it runs out."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        return "disk IO budget exhausted: services throttled and failing"
    if budget is None:
        return "Supabase warns the disk IO budget is running low"
    if budget.ratio <= EXHAUSTED_RATIO:
        return f"disk IO budget used up: throughput held at the {budget.tier} baseline"
    left = f"disk IO budget {budget.ratio:.0%} left"
    if budget.eta_s is not None:
        return f"{left}, runs out in ~{format_duration(budget.eta_s)}"
    return left


def _body(diagnosis: Diagnosis, decision: EscalationDecision | None) -> str:
    lines = [*diagnosis.evidence[:4]]
    if diagnosis.kind in _WAIT:
        lines.append(_WAIT[diagnosis.kind])
    if decision is not None and decision.action == "ask" and decision.command:
        lines.append(f"Proposed: {decision.summary}")
        lines.append(f"Run: {decision.command}")
    elif decision is not None and decision.action == "none" and decision.target is not None:
        lines.append(decision.reason)
    return "\n".join(lines)


def conditions(
    diagnosis: Diagnosis,
    budget: BudgetEstimate | None,
    budget_severity: Severity | None,
    decision: EscalationDecision | None,
    *,
    budget_latched: bool,
    budget_held: bool = False,
) -> list[Condition]:
    """The project's conditions this cycle: its diagnosis and its IO budget.

    ``budget_held``: sbwatch has just raised the compute size and said what to expect there;
    the IO budget stays quiet unless services fail from it (``io_budget_exhausted``).
    An IO budget problem sbwatch would fix now but may only propose (``ask`` mode) is critical:
    a person must run the command.
    """
    kind = diagnosis.kind
    project = diagnosis.project
    noisy_unknown = kind is DiagnosisKind.UNKNOWN and diagnosis.confidence < 0.3
    diag_active = kind not in QUIET and not noisy_unknown
    diag_severity = (
        Severity.WARNING
        if kind in {DiagnosisKind.UNKNOWN, DiagnosisKind.LOCAL_NETWORK}
        else Severity.CRITICAL
    )
    out = [
        Condition(
            project=project,
            subject="diagnosis",
            severity=diag_severity,
            title=headline(diagnosis),
            body=_body(diagnosis, decision),
            active=diag_active,
            folds_others=kind in FOLDING,
        )
    ]
    exhausted = kind is DiagnosisKind.IO_BUDGET_EXHAUSTED
    raised = kind in IO_KINDS or budget_severity is not None or budget_latched
    io_active = raised and (exhausted or not budget_held)
    asks = decision is not None and decision.action == "ask" and kind in IO_KINDS
    if exhausted or asks or budget_severity is Severity.CRITICAL:
        io_severity = Severity.CRITICAL
    else:
        io_severity = Severity.WARNING
    out.append(
        Condition(
            project=project,
            subject=IO_SUBJECT,
            severity=io_severity,
            title=budget_title(diagnosis, budget),
            body=_body(diagnosis, decision) if kind in IO_KINDS else _budget_body(budget),
            active=io_active,
        )
    )
    return out


def next_latch(latched: bool, held: bool, raised: bool, ratio: float | None) -> tuple[bool, bool]:
    """The IO budget latch and hold after a cycle in which the budget was ``raised`` or not.

    The latch keeps a raised budget alert open until the estimate refills to
    ``LATCH_RELEASE_RATIO`` (a day/night load must not open and close it daily); the hold
    (set by a recovered resize) ends the same way. Without an estimate (no metrics), nothing
    but the raising signal itself keeps either.
    """
    refilled = ratio is None or ratio >= LATCH_RELEASE_RATIO
    return raised or (latched and not refilled), held and (raised or not refilled)


def _budget_body(budget: BudgetEstimate | None) -> str:
    if budget is None:
        return ""
    return (
        f"Estimated from disk throughput {budget.throughput_mbps:.1f} MB/s on {budget.tier} "
        f"(net burn {budget.burn_mbps:+.1f} MB/s, confidence {budget.confidence:.0%})."
    )
