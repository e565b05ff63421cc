"""Which alert conditions hold: from a diagnosis, the budget severity and the decision (pure).

The words of each condition are written by ``alerting.conditions``; this module only decides
which subjects are active, how severe, and whether one holds the others back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sbwatch.core.results import Diagnosis, DiagnosisKind, Severity
from sbwatch.policy.escalation import EscalationDecision

IO_KINDS = frozenset({DiagnosisKind.IO_BUDGET_LOW, DiagnosisKind.IO_BUDGET_EXHAUSTED})
FOLDING = frozenset(
    {DiagnosisKind.LOCAL_NETWORK, DiagnosisKind.PLATFORM_OUTAGE, DiagnosisKind.RESIZING}
)
"""Causes that hold back the project's other subjects while they last."""
LATCH_RELEASE_RATIO = 0.95
"""An IO budget alert, once raised, holds until the estimate refills to this."""
IO_SUBJECT = "io_budget"
"""The alert subject of the IO budget (forecast, low, used up)."""
DIAGNOSIS_SUBJECT = "diagnosis"
"""The alert subject of what is wrong with the project's services."""
QUIET = frozenset({DiagnosisKind.HEALTHY, *IO_KINDS})


@dataclass(frozen=True)
class Assessment:
    """One subject's state this cycle, before it is put into words."""

    subject: str
    severity: Severity
    active: bool
    folds_others: bool = False


def assess(
    diagnosis: Diagnosis,
    budget_severity: Severity | None,
    decision: EscalationDecision | None,
    *,
    budget_latched: bool,
) -> tuple[Assessment, Assessment]:
    """The project's two subjects this cycle: its diagnosis and its IO budget.

    An IO budget problem sbwatch would fix now but may only propose (``ask`` mode) is critical:
    a person must run the command.
    """
    kind = diagnosis.kind
    noisy_unknown = kind is DiagnosisKind.UNKNOWN and diagnosis.confidence < 0.3
    # Our own network down is critical: sbwatch is blind, whatever happens to the project.
    # A resize restarts the services for minutes: said, never paged.
    # Memory or CPU short while the services answer: a warning of what comes.
    warning_only = kind in (DiagnosisKind.UNKNOWN, DiagnosisKind.RESIZING) or diagnosis.ahead
    diag = Assessment(
        subject=DIAGNOSIS_SUBJECT,
        severity=Severity.WARNING if warning_only else Severity.CRITICAL,
        active=kind not in QUIET and not noisy_unknown,
        folds_others=kind in FOLDING,
    )
    exhausted = kind is DiagnosisKind.IO_BUDGET_EXHAUSTED
    raised = kind in IO_KINDS or budget_severity is not None or budget_latched
    asks = decision is not None and decision.action == "ask" and kind in IO_KINDS
    critical = exhausted or asks or budget_severity is Severity.CRITICAL
    io = Assessment(
        subject=IO_SUBJECT,
        severity=Severity.CRITICAL if critical else Severity.WARNING,
        active=raised,
    )
    return diag, io


def next_latch(latched: bool, raised: bool, ratio: float | None) -> bool:
    """The IO budget latch after a cycle in which the budget was ``raised`` or not.

    The latch keeps a raised budget alert open until the estimate refills to
    ``LATCH_RELEASE_RATIO`` (a day/night load must not open and close it daily). Without an
    estimate (no metrics), nothing but the raising signal itself keeps it.
    """
    refilled = ratio is None or ratio >= LATCH_RELEASE_RATIO
    return raised or (latched and not refilled)
