"""The close scrape: every minute while sbwatch's own raise may fall due, else nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import cast

import httpx
import pytest

from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import EscalationSettings, Settings
from sbwatch.core.clock import VirtualClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    BudgetEstimate,
    EscalationMode,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
)
from sbwatch.core.tiers import Tier
from sbwatch.daemon.app import _schedule
from sbwatch.daemon.scheduler import Scheduler
from sbwatch.policy.escalation import EscalationDecision, Reason, Why
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.cadence import close_scrape_due, close_scrapes
from sbwatch.watch.runtime import ProjectView
from sbwatch.watch.watcher import Watcher

NOW = datetime(2026, 5, 25, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


@dataclass
class Escalation:
    escalation: EscalationSettings


@dataclass
class View:
    """What the close scrape reads of a project."""

    settings: Escalation
    budget: BudgetEstimate | None = None
    tier: Tier = Tier.MICRO
    statuses: dict[ProbeKind, ProbeStatus] = field(default_factory=dict)
    decision: EscalationDecision | None = None

    def scraped(self, at: datetime) -> None:
        result = ProbeResult(REF, ProbeKind.METRICS, Outcome.OK, at, 0.1)
        status = ProbeStatus(REF, ProbeKind.METRICS, ProbeState.UP, 1, 0, at, result)
        self.statuses[ProbeKind.METRICS] = status


def view(mode: EscalationMode = EscalationMode.AUTO, tier: Tier = Tier.MICRO) -> View:
    return View(Escalation(EscalationSettings(mode=mode, max_tier=Tier.SMALL)), tier=tier)


def runs(project: View, etas: dict[int, float | None], scrapes: tuple[int, ...]) -> list[int]:
    """The minutes of a 15-minute stretch at which the close scrape scrapes: the regular
    scrapes at ``scrapes`` (minutes), each scrape's estimate from ``etas`` when given."""
    scraped = []
    for minute in range(15):
        at = NOW + timedelta(minutes=minute)
        due = close_scrape_due(cast(ProjectView, project), 300.0, at)
        if minute in scrapes or due:
            project.scraped(at)
            if due:
                scraped.append(minute)
            if minute in etas:
                eta = etas[minute]
                project.budget = BudgetEstimate(REF, at, Tier.MICRO, 0.1, 20.0, eta, 1.0, 31.0)
    return scraped


def test_near_a_raise_the_disks_are_read_every_minute() -> None:
    """Far from the zero: only the regular scrapes. From a scrape that puts the raise before
    the next regular one: every minute, until a scrape shows nothing runs out."""
    assert [6, 7, 8] == runs(view(), {0: 3600.0, 5: 500.0, 8: None}, scrapes=(0, 5, 10))


def test_a_size_sbwatch_will_not_raise_gets_no_close_scrape() -> None:
    """A person raises in ask mode, and max_tier stops sbwatch: no race to the zero."""
    assert [] == runs(view(EscalationMode.ASK), {0: 200.0}, scrapes=(0, 5, 10))
    assert [] == runs(view(tier=Tier.SMALL), {0: 200.0}, scrapes=(0, 5, 10))


def test_no_close_scrape_before_the_first_nor_beside_a_regular_one() -> None:
    """Before any scrape there is nothing to judge; a regular scrape within half a minute
    is the reading."""
    project = view()
    assert not close_scrape_due(cast(ProjectView, project), 300.0, NOW)
    project.scraped(NOW)
    project.budget = BudgetEstimate(REF, NOW, Tier.MICRO, 0.1, 20.0, 200.0, 1.0, 31.0)
    soon, later = NOW + timedelta(seconds=20), NOW + timedelta(seconds=40)
    assert (False, True) == (
        close_scrape_due(cast(ProjectView, project), 300.0, soon),
        close_scrape_due(cast(ProjectView, project), 300.0, later),
    )
    assert (True, False) == (close_scrapes(300.0), close_scrapes(60.0))


def test_a_raise_waiting_for_a_minute_s_reading_gets_it() -> None:
    """A raise due on a five-minute reading waits for a minute's (a burst ending within the
    five can look like a drain or a throttle): the close scrape brings it, however far the
    forecast's zero."""
    project = view()
    project.scraped(NOW)
    project.budget = BudgetEstimate(REF, NOW, Tier.MICRO, 0.19, 20.0, 1200.0, 1.0, 31.0)
    later = NOW + timedelta(minutes=1)
    assert not close_scrape_due(cast(ProjectView, project), 300.0, later)
    confirming = Reason(Why.CONFIRMING, ratio=0.19, eta_s=1200.0)
    project.decision = EscalationDecision("none", None, confirming)
    assert close_scrape_due(cast(ProjectView, project), 300.0, later)


@pytest.mark.parametrize(("interval", "close"), [("5m", True), ("1m", False)])
async def test_the_daemon_runs_a_close_scrape_beside_a_slower_metrics_probe(
    store: SqliteStore, interval: str, close: bool
) -> None:
    """A metrics probe minutes apart gets the close scrape's job beside it; one a minute apart
    is already close."""
    settings = Settings.model_validate(
        {
            "projects": [
                {
                    "ref": REF,
                    "tier": "micro",
                    "url": "http://sim.test",
                    "service_key": "k",
                    "probes": {"metrics": {"interval": interval}},
                }
            ],
            "status_page": {"enabled": False},
        }
    )
    clock, metrics = VirtualClock(NOW), Metrics()
    async with httpx.AsyncClient(
        transport=httpx.MockTransport(lambda request: httpx.Response(200))
    ) as http:
        dispatcher = Dispatcher(store, [], clock=clock, metrics=metrics)
        watcher = Watcher(
            settings, store, clock=clock, metrics=metrics, http=http, dispatcher=dispatcher
        )
        await watcher.start()
        try:
            scheduler = Scheduler(clock)
            presence = SimpleNamespace(cycle_done=lambda: None)
            _schedule(scheduler, settings, watcher, dispatcher, presence)  # type: ignore[arg-type]
            names = scheduler.job_names()
        finally:
            await watcher.close()
    assert f"probe:{REF}:metrics" in names
    assert close == (f"close-scrape:{REF}" in names)
