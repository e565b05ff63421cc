"""When a backup may spend disk IO, and whether a project's backups are in order (pure).

A backup reads every table, so it spends the disk IO budget. It waits while the budget is low
or forecast to run out, for at most ``defer_max`` after it was due, then runs anyway; it never
starts while the budget is exhausted (that run is given up once ``defer_max`` has passed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sbwatch.core.results import BudgetEstimate, DiagnosisKind
from sbwatch.policy.budget import EXHAUSTED_RATIO


class Gate(StrEnum):
    """What to do with a due backup now."""

    RUN = "run"
    DEFER = "defer"  # ask again later
    SKIP = "skip"  # give this run up


class DeferReason(StrEnum):
    """Why a backup waits (or ran late)."""

    IO_BUDGET_EXHAUSTED = "io_budget_exhausted"
    IO_BUDGET_LOW = "io_budget_low"
    IO_BUDGET_FORECAST = "io_budget_forecast"


@dataclass(frozen=True)
class Deferral:
    """The gate, the reason behind it (also for a late run), and how long the backup has waited."""

    gate: Gate
    reason: DeferReason | None
    waited_s: float

    @property
    def defer(self) -> bool:
        """Whether the backup waits."""
        return self.gate is Gate.DEFER


def should_defer(
    budget: BudgetEstimate | None,
    diagnosis: DiagnosisKind | None,
    *,
    due_at: datetime,
    now: datetime,
    defer_max: timedelta,
    low_ratio: float,
    horizon: timedelta,
) -> Deferral:
    """Run, defer or skip a backup due since ``due_at``, from the budget and the diagnosis."""
    waited = max(0.0, (now - due_at).total_seconds())
    patience_left = waited < defer_max.total_seconds()
    reason = _reason(budget, diagnosis, low_ratio, horizon)
    if reason is None:
        return Deferral(Gate.RUN, None, waited)
    if patience_left:
        return Deferral(Gate.DEFER, reason, waited)
    if reason is DeferReason.IO_BUDGET_EXHAUSTED:
        return Deferral(Gate.SKIP, reason, waited)
    return Deferral(Gate.RUN, reason, waited)


def _reason(
    budget: BudgetEstimate | None,
    diagnosis: DiagnosisKind | None,
    low_ratio: float,
    horizon: timedelta,
) -> DeferReason | None:
    exhausted = budget is not None and budget.ratio <= EXHAUSTED_RATIO
    if diagnosis is DiagnosisKind.IO_BUDGET_EXHAUSTED or exhausted:
        return DeferReason.IO_BUDGET_EXHAUSTED
    if diagnosis is DiagnosisKind.IO_BUDGET_LOW or (
        budget is not None and budget.ratio < low_ratio
    ):
        return DeferReason.IO_BUDGET_LOW
    if budget is not None and budget.eta_s is not None and budget.eta_s < horizon.total_seconds():
        return DeferReason.IO_BUDGET_FORECAST
    return None


class BackupHealth(StrEnum):
    """The state of a project's backups."""

    OK = "ok"
    FAILED = "failed"  # the last run failed (an older backup may still be fresh)
    STALE = "stale"  # the newest backup is older than max_age (or there is none)
    VERIFY_FAILED = "verify_failed"  # the last restore check did not match its manifest


def backup_health(
    newest_at: datetime | None,
    last_verify_ok: bool | None,
    last_run_failed: bool,
    *,
    now: datetime,
    max_age: timedelta,
    watching_since: datetime,
) -> BackupHealth:
    """The worst of: the last restore check, the newest backup's age, the last run."""
    if last_verify_ok is False:
        return BackupHealth.VERIFY_FAILED
    since = newest_at if newest_at is not None else watching_since
    if now - since > max_age:
        return BackupHealth.STALE
    if last_run_failed:
        return BackupHealth.FAILED
    return BackupHealth.OK
