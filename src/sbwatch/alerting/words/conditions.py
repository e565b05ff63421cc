"""The diagnosis's headline and body, the IO budget's title and body, a failing service and
the Management API's own trouble."""

from __future__ import annotations

from sbwatch.alerting.words.diagnosis import evidence_lines
from sbwatch.alerting.words.sizes import decision_reason, escalate_command, summary
from sbwatch.core.durations import format_duration, moment_after
from sbwatch.core.results import (
    ApiFault,
    ApiTrouble,
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
)
from sbwatch.core.tiers import spec
from sbwatch.policy.budget import reads_used_up, refilling
from sbwatch.policy.escalation import EscalationDecision

_HEADLINE: dict[DiagnosisKind, str] = {
    DiagnosisKind.CPU_EXHAUSTED: "CPU exhausted: services failing",
    DiagnosisKind.MEMORY_EXHAUSTED: "memory exhausted: services failing",
    DiagnosisKind.DISK_FULL: "disk almost full: database read-only",
    DiagnosisKind.CONNECTIONS_EXHAUSTED: "connections exhausted: new connections refused",
    DiagnosisKind.PLATFORM_OUTAGE: "Supabase platform outage (not this project's resources)",
    DiagnosisKind.LOCAL_NETWORK: "sbwatch cannot reach anything: our own network is down",
    DiagnosisKind.PROJECT_PAUSED: "project is paused",
    DiagnosisKind.QUOTA_RESTRICTED: (
        "services restricted by the organization's quota (HTTP 402), not an outage"
    ),
    DiagnosisKind.RESIZING: "compute resize under way: services restart until it ends",
    DiagnosisKind.UNKNOWN: "services failing for an unknown reason",
}

LEAK_LINE = (
    "A leak grows on any size: a bigger one only puts the OOM off, and the OOM's restart is no "
    "longer than a resize's. sbwatch will not raise it itself; find the client that holds the "
    "memory."
)
"""Said beside a leak's proposed size: why it is a proposal, whatever the mode."""
_WAIT = {
    DiagnosisKind.PLATFORM_OUTAGE: (
        "A bigger compute size would not help; sbwatch waits for the provider."
    ),
    DiagnosisKind.LOCAL_NETWORK: "Check the network of the machine running sbwatch.",
    DiagnosisKind.QUOTA_RESTRICTED: (
        "Egress, storage or database size over the billing period's quota restricts every "
        "service of the organization. Deleting data does not lift it: the next billing cycle, "
        "a plan upgrade or turning the spend cap off does. A bigger compute size would not "
        "help; sbwatch changes nothing."
    ),
    DiagnosisKind.RESIZING: (
        "Not an outage: the provider applies a compute change; the budget starts full there."
    ),
}


_AHEAD: dict[DiagnosisKind, str] = {
    DiagnosisKind.MEMORY_EXHAUSTED: "memory running short: the size is too small for the load",
    DiagnosisKind.CPU_EXHAUSTED: "CPU saturated: the size is too small for the load",
}
"""Memory or CPU short while the services still answer."""


def headline(diagnosis: Diagnosis) -> str:
    """One line naming what is wrong (a diagnosis, never a probe name)."""
    if diagnosis.ahead and diagnosis.kind in _AHEAD:
        return _AHEAD[diagnosis.kind]
    if diagnosis.kind is DiagnosisKind.SERVICE_DOWN:
        return f"{diagnosis.service or 'a service'} is down"
    return _HEADLINE.get(diagnosis.kind, diagnosis.kind.value.replace("_", " "))


def budget_title(diagnosis: Diagnosis, budget: BudgetEstimate | None) -> str:
    """The IO budget line: exhausted, or what is left and when it runs out."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        return "disk IO budget exhausted: services throttled and failing"
    if budget is None:
        return "Supabase warns the disk IO budget is running low"
    if refilling(budget):
        return f"disk IO budget {budget.ratio:.0%} left, refilling (load under the baseline)"
    ops = budget.limited_by == "iops"
    if budget.overdrawn:
        return (
            f"disk IO budget: the estimate ran out, yet {budget.tier} serves "
            f"{budget.throughput_mbps:.0f} MB/s over its published baseline: its limits are "
            "higher, the budget not spent"
        )
    if reads_used_up(budget):  # overdrawn is said above
        held = "IO operations" if ops else "throughput"
        return f"disk IO budget used up: {held} held at the {budget.tier} baseline"
    left = f"disk IO budget {budget.ratio:.0%} left" + (" (IOPS)" if ops else "")
    if budget.eta_s is None:
        return f"{left}, refills every day: not at risk" if budget.refills else left
    when = moment_after(budget.at, budget.eta_s)
    runs_out = f"{left}, runs out in ~{format_duration(budget.eta_s)}"
    if budget.basis == "pattern" and when is not None:
        return f"{runs_out} ({when:%a %H:%M} UTC at this week's pattern)"
    return runs_out


def says_command(diagnosis: Diagnosis, decision: EscalationDecision | None) -> bool:
    """Whether the diagnosis's body gives the command to run."""
    if decision is None:
        return False
    held = decision.action == "none" and decision.target is None
    return decision.action == "ask" or (held and diagnosis.holds is not None)


def condition_body(diagnosis: Diagnosis, decision: EscalationDecision | None) -> str:
    """The diagnosis's body: its evidence, and what sbwatch proposes or why it does not."""
    lines = evidence_lines(diagnosis.evidence[:4])
    ref = diagnosis.project
    if diagnosis.kind in _WAIT:
        lines.append(_WAIT[diagnosis.kind])
    if decision is not None and decision.action == "ask" and decision.target is not None:
        if diagnosis.kind is DiagnosisKind.MEMORY_EXHAUSTED and diagnosis.leaking:
            lines.append(LEAK_LINE)
        lines.append(f"Proposed: {summary(decision)}")
        lines.append(f"Run: {escalate_command(ref, tier=decision.target)}")
    elif decision is not None and decision.action == "none" and decision.target is not None:
        lines.append(decision_reason(decision, ref))
    elif decision is not None and decision.action == "none" and diagnosis.holds is not None:
        lines.append(
            f"sbwatch will not raise it itself ({decision_reason(decision, ref)}). "
            f"Run: {escalate_command(ref, tier=diagnosis.holds)}"
        )
    return "\n".join(lines)


def service_title(name: str) -> str:
    """The title of one failing service's own alert."""
    return f"{name} is down"


LEVER_TITLE = "Management API rate limited / failing"
"""The title of the Management API's own trouble."""


def lever_text(trouble: ApiTrouble) -> str:
    """What ails the Management API, in a few words ("rate limited (HTTP 429)")."""
    match trouble.fault:
        case ApiFault.RATE_LIMITED:
            return "rate limited (HTTP 429)"
        case ApiFault.SERVER_ERROR:
            return f"failing (HTTP {trouble.code})"
        case ApiFault.NO_ANSWER:
            return "failing (no answer in time)"
        case ApiFault.UNREACHABLE:
            return "failing (unreachable)"


def lever_body(lever: ApiTrouble | None) -> str:
    """What the Management API answers, and what waits for it ("" when it answers well)."""
    if lever is None:
        return ""
    return (
        f"It answers: {lever_text(lever)}. sbwatch reads the compute size and changes it "
        "through it: a change it needs waits until it answers. The project itself is judged by "
        "its own probes."
    )


def budget_body(budget: BudgetEstimate | None) -> str:
    """The budget's body: the estimate behind the figure and the forecast's basis."""
    if budget is None:
        return ""
    said = (
        f"Estimated from disk throughput {budget.throughput_mbps:.1f} MB/s on {budget.tier} "
        f"(net burn {budget.burn_mbps:+.1f} MB/s, confidence {budget.confidence:.0%})."
    )
    if budget.basis != "current":
        now = (
            "not draining"
            if budget.eta_now_s is None
            else f"runs out in ~{format_duration(budget.eta_now_s)}"
        )
        basis = "a burst above this hour's usual" if budget.basis == "burst" else "the pattern"
        said += f" Forecast from {basis}; at the current rate it {now}."
    if budget.limited_by == "iops":
        said += (
            f" The IO operations balance runs out first: {budget.iops:.0f} IOPS against a "
            f"baseline of {spec(budget.tier).baseline_iops:.0f}."
        )
    if budget.assumed:
        said += f"\n{assumed_line(budget.project)}"
    return said


def assumed_line(ref: str) -> str:
    """What a person reads beside an estimate whose level was never read."""
    return (
        "The level was assumed full when sbwatch began (it cannot read it): the figure is the "
        "most it can be. Pin it with the dashboard's 'Disk IO % consumed': "
        f"sbwatch budget set {ref} PCT"
    )
