"""Availability read from a real store: the slots kept by the daemon's run give the same
figures as a cold read, the metrics follow them, and the status document carries them."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from tests.uptime.conftest import NOW, REF, settings

from sbwatch.commands.status import render
from sbwatch.core.errors import ConfigError
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import (
    Outcome,
    ProbeKind,
    ProbeResult,
)
from sbwatch.daemon.status import gather_status
from sbwatch.daemon.uptime import (
    CACHE_NAMESPACE,
    project_uptime,
    update_maintenance_metric,
    update_uptime_metrics,
)
from sbwatch.store.sqlite import SqliteStore


async def test_figures_from_the_store(store: SqliteStore, tmp_path: Path) -> None:
    """db: 20 minutes down in 6 h known; rest: 2 h known, all up; auth never ran: unknown."""
    found = {s.service: s for s in await project_uptime(store, settings(tmp_path), REF, NOW)}
    db, rest, auth = found[ProbeKind.DB], found[ProbeKind.REST], found[ProbeKind.AUTH]
    assert (1200.0, 6 * 3600.0 - 1200) == (db.windows["7d"].down_s, db.windows["7d"].up_s)
    assert (1.0, 2 * 3600.0) == (rest.windows["7d"].availability, rest.windows["7d"].up_s)
    assert None is auth.windows["90d"].availability


async def test_a_maintenance_window_takes_the_outage_out(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A window 10:50-11:30 in the store: the 20 minutes down are maintenance, not down."""
    await store.add_maintenance(
        REF, NOW - timedelta(minutes=70), NOW - timedelta(minutes=30), "upgrade", "ops"
    )
    found = await project_uptime(store, settings(tmp_path), REF, NOW)
    db = found[0].windows["7d"]
    assert (0.0, 2400.0, 1.0) == (db.down_s, db.maintenance_s, db.availability)


async def test_kept_slots_give_the_cold_figures_and_new_results_count(
    store: SqliteStore, tmp_path: Path
) -> None:
    """The daemon's run keeps the slot runs; a later read from them plus the results since
    equals a cold read, including results recorded after the run."""
    conf = settings(tmp_path)
    metrics = Metrics()
    await update_uptime_metrics(store, conf, metrics, REF, NOW - timedelta(minutes=30))
    kept = await store.get_state(CACHE_NAMESPACE, REF)
    assert kept is not None
    assert "2026-05-26T11:30:00+00:00" == kept["through"]
    later = NOW + timedelta(hours=1)
    for minute in range(60):
        at = NOW + timedelta(minutes=minute)
        await store.record_probe(ProbeResult(REF, ProbeKind.AUTH, Outcome.OK, at, 0.1))
    warm = await project_uptime(store, conf, REF, later)
    await store.delete_state(CACHE_NAMESPACE, REF)
    cold = await project_uptime(store, conf, REF, later)
    assert cold == warm
    assert 0.0 < warm[2].windows["7d"].unknown_s < 90 * 86400


async def test_metrics_follow_the_figures(store: SqliteStore, tmp_path: Path) -> None:
    """Availability by window, the budget left and the objective; a service with nothing
    known has no availability series; forgetting the project drops them all."""
    metrics = Metrics()
    await update_uptime_metrics(store, settings(tmp_path, "slo = 99.5"), metrics, REF, NOW)
    registry = metrics.registry
    ratio = registry.get_sample_value(
        "sbwatch_availability_ratio", {"project": REF, "service": "db", "window": "7d"}
    )
    assert 1 - 1200 / (6 * 3600) == pytest.approx(ratio)
    remaining = registry.get_sample_value(
        "sbwatch_error_budget_remaining_ratio", {"project": REF, "service": "db"}
    )
    assert 1 - 1200 / (0.005 * 30 * 86400) == pytest.approx(remaining)
    objective = {"project": REF}
    assert 0.995 == registry.get_sample_value("sbwatch_availability_objective_ratio", objective)
    auth = {"project": REF, "service": "auth", "window": "7d"}
    assert None is registry.get_sample_value("sbwatch_availability_ratio", auth)
    metrics.forget_project(REF)
    assert None is registry.get_sample_value(
        "sbwatch_error_budget_remaining_ratio", {"project": REF, "service": "db"}
    )
    assert None is registry.get_sample_value("sbwatch_availability_objective_ratio", objective)


async def test_status_document_carries_the_figures(store: SqliteStore, tmp_path: Path) -> None:
    """gather_status (``sbwatch status --json``): objective, windows, budget and 90 days."""
    doc = await gather_status(store, settings(tmp_path), NOW)
    uptime = doc["projects"][0]["uptime"]
    assert (99.9, "30d") == (uptime["objective"], uptime["budget_window"])
    db = uptime["services"][0]
    assert ("db", 1200.0, 90) == (db["service"], db["budget"]["spent_s"], len(db["days"]))
    assert {"date": "2026-05-26", "down_s": 1200.0}.items() <= db["days"][-1].items()


@pytest.mark.parametrize("value", ["100", "0", "-1", "100.5"])
def test_an_objective_outside_0_to_100_is_refused_naming_the_field(
    tmp_path: Path, value: str
) -> None:
    """``slo`` must be a percentage between 0 and 100 (both left out)."""
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, f"slo = {value}")
    assert [
        f"projects[0].slo (line 4): must be a percentage above 0 and below 100, like 99.9 "
        f"(got {float(value):g})"
    ] == caught.value.problems


async def test_status_command_prints_a_line_per_service(store: SqliteStore, tmp_path: Path) -> None:
    """``sbwatch status``: each service's availability by window and its budget in words."""
    doc = await gather_status(store, settings(tmp_path), NOW)
    lines = [line for line in render(doc).splitlines() if line.startswith("  uptime")]
    assert [
        "  uptime db    7d 94.444% 30d 94.444% 90d 94.444%; budget 30d at 99.9%: "
        "43m12s allowed, 20m down: 23m12s left (54%)",
        "  uptime rest  7d 100% 30d 100% 90d 100%; budget 30d at 99.9%: "
        "43m12s allowed, 0s down: 43m12s left (100%)",
        "  uptime auth  7d no data 30d no data 90d no data; budget 30d at 99.9%: "
        "43m12s allowed, 0s down: 43m12s left (100%)",
    ] == lines


async def test_an_overspent_budget_says_by_how_much(store: SqliteStore, tmp_path: Path) -> None:
    """At 99.99% the 30 days allow 4m19s: 20 minutes down overspend it by 15m41s."""
    doc = await gather_status(store, settings(tmp_path, "slo = 99.99"), NOW)
    assert "4m19s allowed, 20m down: overspent by 15m41s" in render(doc)


async def test_the_maintenance_gauge_follows_the_windows(
    store: SqliteStore, tmp_path: Path
) -> None:
    """1 while a stored window holds the project back, 0 before and after it."""
    await store.add_maintenance(REF, NOW, NOW + timedelta(minutes=30), "upgrade", "ops")
    metrics, conf = Metrics(), settings(tmp_path)
    seen = []
    for minutes in (-1, 0, 29, 30):
        await update_maintenance_metric(store, conf, metrics, NOW + timedelta(minutes=minutes))
        seen.append(
            metrics.registry.get_sample_value("sbwatch_maintenance_in_force", {"project": REF})
        )
    assert [0.0, 1.0, 1.0, 0.0] == seen


async def test_a_project_run_elsewhere_gets_no_maintenance_gauge(
    store: SqliteStore, tmp_path: Path
) -> None:
    """Projects shared out: the instance that does not run the project exports nothing for it."""
    metrics = Metrics()
    await update_maintenance_metric(
        store, settings(tmp_path), metrics, NOW, runs=lambda ref: ref != REF
    )
    assert None is metrics.registry.get_sample_value(
        "sbwatch_maintenance_in_force", {"project": REF}
    )


async def test_the_page_keeps_the_slots_and_the_status_command_writes_nothing(
    store: SqliteStore, tmp_path: Path
) -> None:
    """The first page load keeps what it read for the next; ``sbwatch status`` only reads."""
    await gather_status(store, settings(tmp_path), NOW)
    assert None is await store.get_state(CACHE_NAMESPACE, REF)
    await gather_status(store, settings(tmp_path), NOW, window=timedelta(hours=48))
    kept = await store.get_state(CACHE_NAMESPACE, REF)
    assert kept is not None
    assert "2026-05-26T12:00:00+00:00" == kept["through"]
