"""The data check alerts: one condition per check of the last run that read the data.

``policy.data_checks`` decides which are active and how severe; ``alerting.words`` writes
their title and body (the table and what is wrong; the check's own account); the cause here
tells a change of what is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence

from sbwatch.alerting.words import data_body, data_title
from sbwatch.core.results import DataCheckKind, DataCheckResult, Verdict
from sbwatch.policy.alerts import Condition
from sbwatch.policy.data_checks import assess_checks


def data_conditions(project: str, checks: Sequence[DataCheckResult]) -> list[Condition]:
    """One condition per data check of the last run that read the data."""
    return [
        Condition(
            project,
            assessment.subject,
            assessment.severity,
            data_title(check),
            data_body(check),
            assessment.active,
            cause=cause(check),
        )
        for check, assessment in assess_checks(checks)
    ]


def cause(check: DataCheckResult) -> str:
    """What the alert is about, as a value: a change of it is said again."""
    if check.kind is DataCheckKind.NOT_EMPTY and check.verdict is not Verdict.ERROR:
        return "empty" if check.value == 0 else "emptied"
    return str(check.verdict)
