"""Which data check alerts hold, and how severe: from the verdicts of the last data run (pure).

One subject per check (``data:<name>``), active while its verdict is not ok. A critical
verdict is critical; a warning, or a check that could not run, is a warning. The words are
written by ``alerting.data_conditions``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sbwatch.core.results import DataCheckResult, Severity, Verdict
from sbwatch.core.subjects import Family, named
from sbwatch.policy.conditions import Assessment


def data_subject(name: str) -> str:
    """The alert subject of one data check."""
    return named(Family.DATA, name)


def assess_checks(checks: Sequence[DataCheckResult]) -> list[tuple[DataCheckResult, Assessment]]:
    """Each check with its subject's state this cycle."""
    return [
        (
            check,
            Assessment(
                subject=data_subject(check.name),
                severity=Severity.CRITICAL
                if check.verdict is Verdict.CRITICAL
                else Severity.WARNING,
                active=not check.ok,
            ),
        )
        for check in checks
    ]
