"""The words of each alert condition: what a person reads about the diagnosis and the budget.

``policy.conditions`` decides which subjects are active and how severe; this module writes
their title and body, and the two together make the conditions the alerting policy handles.
"""

from __future__ import annotations

from sbwatch.core.durations import format_duration, moment_after
from sbwatch.core.results import BudgetEstimate, Diagnosis, DiagnosisKind, Severity
from sbwatch.core.tiers import spec
from sbwatch.policy.alerts import Condition, service_subjects
from sbwatch.policy.budget import EXHAUSTED_RATIO, refilling
from sbwatch.policy.conditions import DIAGNOSIS_SUBJECT, FOLDING, IO_KINDS, assess
from sbwatch.policy.escalation import EscalationDecision
from sbwatch.policy.resources import OOM_LINE

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


def still_failing() -> tuple[str, ...]:
    """What a cause under which the services keep failing takes in: their alerts and the alert
    of the cause before it."""
    return (*service_subjects(), DIAGNOSIS_SUBJECT)


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
    if budget.ratio <= EXHAUSTED_RATIO and budget.load_known:
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


def _body(diagnosis: Diagnosis, decision: EscalationDecision | None) -> str:
    lines = [*diagnosis.evidence[:4]]
    if diagnosis.kind in _WAIT:
        lines.append(_WAIT[diagnosis.kind])
    if decision is not None and decision.action == "ask" and decision.command:
        if diagnosis.kind is DiagnosisKind.MEMORY_EXHAUSTED and diagnosis.leaking:
            lines.append(LEAK_LINE)
        lines.append(f"Proposed: {decision.summary}")
        lines.append(f"Run: {decision.command}")
    elif decision is not None and decision.action == "none" and decision.target is not None:
        lines.append(decision.reason)
    elif decision is not None and decision.action == "none" and diagnosis.holds is not None:
        lines.append(
            f"sbwatch will not raise it itself ({decision.reason}). "
            f"Run: sbwatch escalate {diagnosis.project} --to {diagnosis.holds}"
        )
    return "\n".join(lines)


def conditions(
    diagnosis: Diagnosis,
    budget: BudgetEstimate | None,
    budget_severity: Severity | None,
    decision: EscalationDecision | None,
    *,
    budget_latched: bool,
    ahead: str = "",
) -> list[Condition]:
    """The project's conditions this cycle, in words: its diagnosis and its IO budget.

    ``ahead``: why sbwatch will not raise the size itself before the budget runs out, with the
    command (``policy.escalation.beyond_reach``); the budget alert carries it.
    """
    diag, io = assess(
        diagnosis,
        budget_severity,
        decision,
        budget_latched=budget_latched,
        refilling=budget is not None and refilling(budget),
    )
    project = diagnosis.project
    io_body = _body(diagnosis, decision) if diagnosis.kind in IO_KINDS else _budget_body(budget)
    if ahead and "sbwatch escalate" not in io_body:
        io_body = f"{io_body}\n{ahead}" if io_body else ahead
    per_service = diagnosis.kind is DiagnosisKind.SERVICE_DOWN and bool(diagnosis.services)
    io_cause = budget_cause(diagnosis, budget)
    # Only a draining budget's alert tells a forecast; a used-up or failing one says so, and
    # a forecast flickering there is no news.
    forecast = budget.eta_s if budget is not None and io_cause == "draining" else None
    return [
        Condition(
            project,
            diag.subject,
            diag.severity,
            headline(diagnosis),
            _body(diagnosis, decision),
            diag.active and not per_service,
            diag.folds_others,
            cause=_cause(diagnosis),
            held=bool(diagnosis.waiting),
            # a named cause (paused, CPU, disk full...) is why the services fail: no RESOLVED
            # of theirs while it holds them down
            absorbs=service_subjects()
            if diag.severity is Severity.CRITICAL or diag.folds_others
            else (),
        ),
        Condition(
            project,
            io.subject,
            io.severity,
            budget_title(diagnosis, budget),
            io_body,
            io.active,
            cause=io_cause,
            eta_s=forecast,
            # the used-up budget is why services fail: their alerts, and the one of a cause
            # that ended while they kept failing (a pause, an outage), are lines of this one
            absorbs=still_failing() if io_cause == "failing" else (),
        ),
        lever_condition(diagnosis),
        *(  # each failing service is a problem of its own: its own alert, its own resolve
            Condition(
                project,
                f"service:{name}",
                Severity.CRITICAL,
                f"{name} is down",
                _body(diagnosis, decision),
                active=True,
                cause=f"service_down:{name}",
                since=dict(diagnosis.onsets).get(name),
                # a cause that ended while this service kept failing did not end the failure:
                # its alert becomes a line of this one, never a RESOLVED
                absorbs=(DIAGNOSIS_SUBJECT,),
            )
            for name in diagnosis.services
        ),
        *(  # a failure whose cause is awaited: its open alert neither resolves nor pages
            Condition(
                project,
                f"service:{name}",
                Severity.CRITICAL,
                f"{name} is down",
                "",
                active=False,
                held=True,
            )
            for name in diagnosis.waiting
        ),
    ]


def _cause(diagnosis: Diagnosis) -> str:
    if diagnosis.service:
        return f"{diagnosis.kind}:{diagnosis.service}"
    oom = any(line.startswith(OOM_LINE) for line in diagnosis.evidence)
    if diagnosis.ahead:
        return f"{diagnosis.kind}:ahead:oom" if oom else f"{diagnosis.kind}:ahead"
    return f"{diagnosis.kind}:oom" if oom else diagnosis.kind


LEVER_SUBJECT = "mgmt_api"
"""The alert subject of the Management API's own trouble (the lever, not the project)."""


def lever_condition(diagnosis: Diagnosis) -> Condition:
    """The Management API rate limited or failing: one warning, never a failing project.

    An outage or our own network explains it already: it is said there."""
    lever = diagnosis.lever
    active = lever is not None and diagnosis.kind not in FOLDING
    body = (
        f"It answers: {lever}. sbwatch reads the compute size and changes it through it: "
        "a change it needs waits until it answers. The project itself is judged by its own "
        "probes."
        if lever
        else ""
    )
    return Condition(
        diagnosis.project,
        LEVER_SUBJECT,
        Severity.WARNING,
        "Management API rate limited / failing",
        body,
        active,
        cause=LEVER_SUBJECT,
    )


def budget_cause(diagnosis: Diagnosis, budget: BudgetEstimate | None) -> str:
    """What the IO budget alert is about: services failing, used up, or running out."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        return "failing"
    if (
        budget is not None
        and budget.ratio <= EXHAUSTED_RATIO
        and budget.load_known
        and not budget.overdrawn
    ):
        return "used_up"
    return "draining" if budget is not None else "provider_warning"


def _budget_body(budget: BudgetEstimate | None) -> str:
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
