"""A backup spends disk IO: it waits while the budget is short, and never starts on an empty one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from sbwatch.backup.job import BackupJob
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import BudgetEstimate, DiagnosisKind, Severity
from sbwatch.core.tiers import Tier
from sbwatch.policy.backup import DeferReason, Gate, should_defer
from sbwatch.store.sqlite import SqliteStore

from .conftest import REF, Database, complete_backups, make_project

DUE = datetime(2026, 5, 20, 3, 30, tzinfo=UTC)
SIX_HOURS = timedelta(hours=6)


def _budget(ratio: float, eta_s: float | None = None) -> BudgetEstimate:
    """An estimate with this much left and this ETA."""
    return BudgetEstimate(REF, DUE, Tier.MICRO, ratio, 1.0, eta_s, 0.9)


def _gate(budget: BudgetEstimate | None, kind: DiagnosisKind | None, waited: timedelta) -> Any:
    """The policy's answer ``waited`` after the backup was due."""
    return should_defer(
        budget,
        kind,
        due_at=DUE,
        now=DUE + waited,
        defer_max=SIX_HOURS,
        low_ratio=0.2,
        horizon=timedelta(hours=24),
    )


@pytest.mark.parametrize(
    ("budget", "kind", "reason"),
    [
        (_budget(0.1), DiagnosisKind.HEALTHY, DeferReason.IO_BUDGET_LOW),
        (_budget(0.6), DiagnosisKind.IO_BUDGET_LOW, DeferReason.IO_BUDGET_LOW),
        (_budget(0.6, eta_s=3600.0), DiagnosisKind.HEALTHY, DeferReason.IO_BUDGET_FORECAST),
        (_budget(0.0), DiagnosisKind.HEALTHY, DeferReason.IO_BUDGET_EXHAUSTED),
        (None, DiagnosisKind.IO_BUDGET_EXHAUSTED, DeferReason.IO_BUDGET_EXHAUSTED),
    ],
)
def test_a_short_budget_defers(
    budget: BudgetEstimate | None, kind: DiagnosisKind, reason: DeferReason
) -> None:
    """Low, forecast to run out, or exhausted: the backup waits and says why."""
    decision = _gate(budget, kind, timedelta(hours=1))
    assert (Gate.DEFER, reason, True) == (decision.gate, decision.reason, decision.defer)


@pytest.mark.parametrize(
    ("budget", "kind"),
    [(_budget(0.9), DiagnosisKind.HEALTHY), (None, None), (_budget(0.9, eta_s=200_000.0), None)],
)
def test_a_healthy_budget_runs_at_once(budget: BudgetEstimate | None, kind: Any) -> None:
    """A full budget, no estimate at all, or a far ETA: run now."""
    decision = _gate(budget, kind, timedelta(0))
    assert (Gate.RUN, None, False) == (decision.gate, decision.reason, decision.defer)


def test_a_low_budget_runs_anyway_after_defer_max() -> None:
    """After waiting defer_max, a low budget no longer holds the backup back."""
    decision = _gate(_budget(0.1), DiagnosisKind.IO_BUDGET_LOW, SIX_HOURS)
    assert (Gate.RUN, DeferReason.IO_BUDGET_LOW) == (decision.gate, decision.reason)


def test_an_exhausted_budget_never_starts_a_backup() -> None:
    """Diagnosis io_budget_exhausted: deferred, then given up, never run."""
    gates = [
        _gate(_budget(0.5), DiagnosisKind.IO_BUDGET_EXHAUSTED, timedelta(hours=h)).gate
        for h in (0, 5, 6, 30)
    ]
    assert [Gate.DEFER, Gate.DEFER, Gate.SKIP, Gate.SKIP] == gates


class View:
    """What the watcher would hand the job: a budget estimate and a diagnosis, changeable."""

    def __init__(self) -> None:
        self.budget: BudgetEstimate | None = None
        self.kind: DiagnosisKind | None = None
        self.notices: list[tuple[Severity, str, str]] = []

    def read(self) -> tuple[BudgetEstimate | None, DiagnosisKind | None]:
        """The budget and diagnosis now."""
        return self.budget, self.kind

    async def notify(self, severity: Severity, title: str, body: str) -> None:
        """Record a notice."""
        self.notices.append((severity, title, body))


def _job(project: Any, store: SqliteStore, view: View, clock: VirtualClock) -> BackupJob:
    """A backup job on a virtual clock with no schedule of its own."""
    return BackupJob(
        project,
        clock=clock,
        metrics=Metrics(),
        store=store,
        budget=view.read,
        notify=view.notify,
        last_fire=lambda now: None,
    )


@pytest.mark.integration
async def test_a_low_budget_defers_the_job_until_it_recovers(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """Due at 03:30 with 10% left: no backup, a logged reason; at 04:30 with 60%: it runs."""
    clock = VirtualClock(DUE)
    view = View()
    view.budget = _budget(0.1)
    job = _job(make_project(small_db.dsn, tmp_path, verify="never"), store, view, clock)
    with capture_logs() as logs:
        await job.due()
    deferred = [e for e in logs if e["event"] == "backup deferred"]
    assert [("io_budget_low", "0s")] == [(e["reason"], e["waited"]) for e in deferred]
    assert [] == complete_backups(tmp_path / REF)
    clock.advance(3600)
    view.budget = _budget(0.6)
    await job.check()
    assert ["2026-05-20.tar.gz"] == complete_backups(tmp_path / REF)
    assert job.due_since is None


@pytest.mark.integration
async def test_an_exhausted_budget_gives_the_run_up(
    small_db: Database, tmp_path: Path, store: SqliteStore
) -> None:
    """Diagnosis io_budget_exhausted for 6 h: the run is skipped with a notice, nothing dumped."""
    clock = VirtualClock(DUE)
    view = View()
    view.kind = DiagnosisKind.IO_BUDGET_EXHAUSTED
    job = _job(make_project(small_db.dsn, tmp_path, defer_max="6h"), store, view, clock)
    await job.due()
    assert (DUE, []) == (job.due_since, complete_backups(tmp_path / REF))
    for _ in range(6):
        clock.advance(3600)
        await job.check()
    assert [] == complete_backups(tmp_path / REF)
    assert job.due_since is None
    titles = [title for _, title, _ in view.notices]
    assert "backup skipped: the disk IO budget is exhausted" in titles
