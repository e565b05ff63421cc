"""The data checks' findings and the backups' health."""

from __future__ import annotations

from datetime import datetime

from sbwatch.core.durations import format_duration
from sbwatch.core.results import (
    DataCheckKind,
    DataCheckResult,
    Verdict,
)
from sbwatch.policy.backup import BackupHealth

# --- data checks -------------------------------------------------------------------------


def data_title(check: DataCheckResult) -> str:
    """One line: the table and what is wrong with a data check's table."""
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


def data_body(check: DataCheckResult) -> str:
    """The check's own account, and which check it is."""
    return f"{check.detail}\nData check {check.name} ({check.kind}){_on(check)}."


# --- backups -----------------------------------------------------------------------------

BACKUP_SKIPPED_TITLE = "backup skipped: the disk IO budget is exhausted"


def backup_skipped_body(waited_s: float) -> str:
    """How long the backup waited for the budget, and when it is tried again."""
    return (
        f"The backup waited {format_duration(waited_s)} for the disk IO budget and was given "
        "up; the next scheduled run tries again."
    )


def backup_message(
    health: BackupHealth, newest: str | None, made: datetime | None, why: str, max_age_s: float
) -> tuple[str, str]:
    """The title and body of the backups' health: stale, a failed restore check or run, or in
    order again; ``why``: the error or the check's finding."""
    when = f"{made:%Y-%m-%d %H:%M} UTC" if made else "never"
    latest = f"Newest backup: {newest or 'none'} ({when})."
    if health is BackupHealth.STALE:
        limit = format_duration(max_age_s)
        return f"no backup for more than {limit}", f"{latest} {why}".strip()
    if health is BackupHealth.VERIFY_FAILED:
        return "backup restore check failed", f"{latest} {why}"
    if health is BackupHealth.FAILED:
        return f"backup failed: {why}", latest
    return "backups are in order again", latest
