"""The words of the data check alerts: what a person reads about a failing check.

``policy.data_checks`` decides which are active and how severe; this module writes their
title and body. The title names the table and what is wrong; the body keeps the check's own
account (how long the table has read empty, the number against its threshold).
"""

from __future__ import annotations

from collections.abc import Sequence

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
            title(check),
            f"{check.detail}\nData check {check.name} ({check.kind}){_on(check)}.",
            assessment.active,
            cause=cause(check),
        )
        for check, assessment in assess_checks(checks)
    ]


def title(check: DataCheckResult) -> str:
    """One line: the table and what is wrong with it."""
    if check.verdict is Verdict.ERROR:
        return f"data check {check.name} cannot judge {check.table}"
    if check.kind is DataCheckKind.NOT_EMPTY:
        if check.value == 0:
            return f"{check.table} is empty"
        return f"{check.table} was emptied and refilled (delete-then-reinsert?)"
    if check.kind is DataCheckKind.FRESH:
        return f"{check.table} is stale: {check.detail}"
    return f"{check.name}{_on(check)}: {check.detail}"


def _on(check: DataCheckResult) -> str:
    """`` on TABLE``; nothing for a query check, which names no table."""
    return "" if check.table in ("", "-") else f" on {check.table}"


def cause(check: DataCheckResult) -> str:
    """What the alert is about, as a value: a change of it is said again."""
    if check.kind is DataCheckKind.NOT_EMPTY and check.verdict is not Verdict.ERROR:
        return "empty" if check.value == 0 else "emptied"
    return str(check.verdict)
