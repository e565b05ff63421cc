"""The watcher turns data check results into metrics and alerts through the normal policy."""

from __future__ import annotations

import httpx
import pytest
from tests.datachecks.conftest import REF, Database

from sbwatch.alerting.data_conditions import data_conditions
from sbwatch.alerting.dispatch import Dispatcher
from sbwatch.config.settings import Settings
from sbwatch.core.clock import SystemClock
from sbwatch.core.metrics import Metrics
from sbwatch.core.results import DataCheckKind, DataCheckResult, ProbeKind, Severity, Verdict
from sbwatch.store.sqlite import SqliteStore
from sbwatch.watch.watcher import Watcher


def _settings(dsn: str) -> Settings:
    return Settings.model_validate(
        {
            "projects": [
                {
                    "ref": REF,
                    "tier": "micro",
                    "db_dsn": dsn,
                    "probes": {"data": {"failures_before_down": 1}},
                    "data_checks": [
                        {"name": "orders_rows", "kind": "not_empty", "table": "orders"}
                    ],
                }
            ],
            "metrics": {"enabled": False},
            "status_page": {"enabled": False},
            "alerting": {"min_duration": "0s", "resolve_after": "0s"},
        }
    )


def _sample(metrics: Metrics, name: str) -> float | None:
    return metrics.registry.get_sample_value(name, {"project": REF, "check": "orders_rows"})


@pytest.mark.integration
async def test_an_emptied_table_opens_an_alert_naming_it_and_refilling_resolves_it(
    database: Database, store: SqliteStore
) -> None:
    """The data probe's checks set the two gauges; an emptied table opens a data alert that
    names the table, and resolves once rows are back."""
    await database.execute(
        "CREATE TABLE public.orders (id int PRIMARY KEY); INSERT INTO public.orders VALUES (1), (2)"
    )
    clock, metrics = SystemClock(), Metrics()
    async with httpx.AsyncClient() as http:
        dispatcher = Dispatcher(store, [], clock=clock, metrics=metrics)
        watcher = Watcher(
            _settings(database.dsn),
            store,
            clock=clock,
            metrics=metrics,
            http=http,
            dispatcher=dispatcher,
        )
        await watcher.start()
        try:
            assert [ProbeKind.DATA] == list(watcher.projects[REF].probes)
            await watcher.probe(REF, ProbeKind.DATA)
            await watcher.evaluate(REF)
            assert [] == await store.open_alerts(REF)
            assert 1.0 == _sample(metrics, "sbwatch_data_check_ok")
            assert (_sample(metrics, "sbwatch_data_check_value") or 0) >= 1

            await database.execute("DELETE FROM public.orders")
            await watcher.probe(REF, ProbeKind.DATA)
            await watcher.evaluate(REF)
            alerts = await store.open_alerts(REF)
            assert [(f"{REF}:data:orders_rows", Severity.WARNING, "public.orders is empty")] == [
                (a.key, a.severity, a.title) for a in alerts
            ]
            assert "emptied: it had rows; empty since" in alerts[0].body
            assert (0.0, 0.0) == (
                _sample(metrics, "sbwatch_data_check_ok"),
                _sample(metrics, "sbwatch_data_check_value"),
            )

            await database.execute("INSERT INTO public.orders VALUES (3)")
            await watcher.probe(REF, ProbeKind.DATA)
            await watcher.evaluate(REF)
            assert [] == await store.open_alerts(REF)
        finally:
            await watcher.close()


def _check(verdict: Verdict, kind: DataCheckKind, value: float | None) -> DataCheckResult:
    return DataCheckResult("c", kind, "public.t", verdict, value, "detail")


@pytest.mark.parametrize(
    ("check", "active", "severity", "title", "cause"),
    [
        (_check(Verdict.OK, DataCheckKind.NOT_EMPTY, 5), False, Severity.WARNING, None, "emptied"),
        (
            _check(Verdict.WARNING, DataCheckKind.NOT_EMPTY, 0),
            True,
            Severity.WARNING,
            "public.t is empty",
            "empty",
        ),
        (
            _check(Verdict.CRITICAL, DataCheckKind.NOT_EMPTY, 40),
            True,
            Severity.CRITICAL,
            "public.t was emptied and refilled (delete-then-reinsert?)",
            "emptied",
        ),
        (
            _check(Verdict.CRITICAL, DataCheckKind.SUM, 186),
            True,
            Severity.CRITICAL,
            "c on public.t: detail",
            "critical",
        ),
        (
            _check(Verdict.ERROR, DataCheckKind.FRESH, None),
            True,
            Severity.WARNING,
            "data check c cannot judge public.t",
            "error",
        ),
    ],
)
def test_one_condition_per_check(
    check: DataCheckResult, active: bool, severity: Severity, title: str | None, cause: str
) -> None:
    """Each check is its own subject, active while not ok, critical only for a critical
    verdict; the cause tells an emptied table from one reading empty."""
    (cond,) = data_conditions(REF, [check])
    assert ("data:c", active, severity, cause) == (
        cond.subject,
        cond.active,
        cond.severity,
        cond.cause,
    )
    if title is not None:
        assert title == cond.title
