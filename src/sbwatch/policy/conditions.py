"""Which alert conditions hold: from a diagnosis, the budget severity and the decision (pure).

The project's two subjects here are its diagnosis and its IO budget: their words are written
by ``alerting.conditions``; this module only decides which are active, how severe, and whether
one holds the others back. ``Assessment`` also serves the data checks (``policy.data_checks``,
worded by ``alerting.data_conditions``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sbwatch.core.results import Diagnosis, DiagnosisKind, Severity
from sbwatch.core.subjects import Subject
from sbwatch.policy.escalation import EscalationDecision

IO_KINDS = frozenset({DiagnosisKind.IO_BUDGET_LOW, DiagnosisKind.IO_BUDGET_EXHAUSTED})
FOLDING = frozenset(
    {DiagnosisKind.LOCAL_NETWORK, DiagnosisKind.PLATFORM_OUTAGE, DiagnosisKind.RESIZING}
)
"""Causes that hold back the project's other subjects while they last."""
LATCH_RELEASE_RATIO = 0.95
"""An IO budget alert, once raised, holds until the estimate refills to this."""
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
    eased: bool = False,
) -> tuple[Assessment, Assessment]:
    """The project's two subjects this cycle: its diagnosis and its IO budget.

    The IO budget pages when the services fail from it (or when the budget's own severity is
    critical: a configured ``critical_horizon``); a raise sbwatch may only propose (``ask``
    mode) is said with the command, as a warning until then. Held open only by the latch
    with nothing left to warn of (``eased``: refilling, or a drain days past the horizon), it
    is INFO (``policy.alerts`` says when that is news).
    """
    kind = diagnosis.kind
    noisy_unknown = kind is DiagnosisKind.UNKNOWN and diagnosis.confidence < 0.3
    # Our own network down is critical: sbwatch is blind, whatever happens to the project.
    # A resize restarts the services for minutes: said, never paged.
    # Memory or CPU short while the services answer: a warning of what comes.
    warning_only = kind in (DiagnosisKind.UNKNOWN, DiagnosisKind.RESIZING) or diagnosis.ahead
    diag = Assessment(
        subject=Subject.DIAGNOSIS,
        severity=Severity.WARNING if warning_only else Severity.CRITICAL,
        active=kind not in QUIET and not noisy_unknown,
        folds_others=kind in FOLDING,
    )
    exhausted = kind is DiagnosisKind.IO_BUDGET_EXHAUSTED
    raised = kind in IO_KINDS or budget_severity is not None
    critical = exhausted or budget_severity is Severity.CRITICAL
    # Held open by the latch alone: it eases to INFO until it has refilled and resolves. A
    # warning whose forecast proved wrong (the spike ended, the budget earns back) says no
    # more as the level moves, nor at a drain days away that nothing warns of.
    easing = budget_latched and not raised and eased
    io = Assessment(
        subject=Subject.IO_BUDGET,
        severity=Severity.INFO if easing else Severity.CRITICAL if critical else Severity.WARNING,
        active=raised or budget_latched,
    )
    return diag, io


def next_latch(latched: bool, raised: bool, ratio: float | None, *, refills: bool = False) -> bool:
    """The IO budget latch after a cycle in which the budget was ``raised`` or not.

    The latch keeps a raised budget alert open until the estimate refills to
    ``LATCH_RELEASE_RATIO`` (a day/night load must not open and close it daily), or while it
    ``refills``: the week's learned pattern earns back every day what it spends and the load
    is under the baseline now (a first night's refill, before a pattern is known, is not
    one). Without an estimate (no metrics), nothing but the raising signal itself keeps it.
    """
    refilled = ratio is None or ratio >= LATCH_RELEASE_RATIO or refills
    return raised or (latched and not refilled)
