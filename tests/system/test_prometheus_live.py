"""A real Prometheus (Debian's) scrapes a live daemon with the shipped rules: each alert fires
for its fault (a token about to expire, a phone that cannot be reached, a budget draining, a
project unhealthy, a backup that never succeeded)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sbwatch.store.sqlite import SqliteStore

from .conftest import (
    OTHER_REF,
    REF,
    SIM_SERVICE_KEY,
    SIM_TOKEN,
    ConfigParts,
    DaemonFactory,
    Proc,
    Sim,
    child_env,
    daemon_config,
    free_port,
    launch_sim,
    sample_in,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "sbwatch.rules.yml"
DEADLINE_S = 90.0


def firing_by_project(url: str) -> set[tuple[str, str]]:
    """The alerts Prometheus has firing, each as (name, project; "" for none)."""
    try:
        body: dict[str, Any] = httpx.get(f"{url}/api/v1/alerts", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return set()
    return {
        (a["labels"]["alertname"], a["labels"].get("project", ""))
        for a in body["data"]["alerts"]
        if a["state"] == "firing"
    }


def firing(url: str) -> set[str]:
    """The names of the alerts Prometheus has firing."""
    return {name for name, _ in firing_by_project(url)}


@contextlib.contextmanager
def prometheus_scraping(
    directory: Path, metrics_port: int, tsdb: Path, *, evaluation_s: int = 1
) -> Iterator[str]:
    """A Prometheus scraping the daemon every second with the shipped rules, evaluated every
    ``evaluation_s``; its URL while in the block. A pending alert's restored time is not
    delayed by a grace period (``for-grace-period``, a setting of Prometheus, not the rules)."""
    prometheus = shutil.which("prometheus")
    assert prometheus is not None, "prometheus is not installed (scripts/install-debs.sh)"
    web_port = free_port()
    config = directory / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: 1s\n  evaluation_interval: {evaluation_s}s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: sbwatch\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n",
        encoding="utf-8",
    )
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tsdb}",
        f"--web.listen-address=127.0.0.1:{web_port}",
        "--rules.alert.for-grace-period=1s",
    ]
    server = Proc("prometheus", argv, directory, child_env())
    try:
        yield f"http://127.0.0.1:{web_port}"
    finally:
        server.close()


def test_the_shipped_rules_fire_on_a_live_daemon(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """The token expires in 5 days and the only route's port is closed: Prometheus, scraping
    the daemon every second, fires SbwatchTokenExpiring and SbwatchNotificationsFailing (its
    retries grow, nothing is sent, none has failed for good)."""
    expires = (datetime.now(UTC) + timedelta(days=5)).date()
    metrics_port = free_port()
    route = f'[[alerting.routes]]\nname = "phone"\nurl = "json://127.0.0.1:{free_port()}/hook"\n'
    text = daemon_config(sim, tmp_path, metrics_port, ConfigParts(extra=route))
    text = text.replace("[status_page]", f"mgmt_token_expires = {expires}\n\n[status_page]", 1)
    daemons.start(text, metrics_port)
    with prometheus_scraping(tmp_path, metrics_port, tmp_path / "tsdb") as url:
        wanted = {"SbwatchTokenExpiring", "SbwatchTokenExpiringSoon", "SbwatchNotificationsFailing"}

        def all_firing() -> set[str] | None:
            now = firing(url)
            return now if wanted <= now else None

        seen = wait_for("the alerts to fire", all_firing, DEADLINE_S)
        assert "SupabaseProjectDown" not in seen


PENDING_FOR_S = 30 * 60
"""How long the seeded history says each alert has been pending: longer than any `for:`."""


def seed_pending(tsdb: Path, alerts: list[dict[str, str]], now: float) -> None:
    """Write the ``ALERTS_FOR_STATE`` series a Prometheus keeps of pending alerts, as if these
    had been pending for PENDING_FOR_S up to a restart a few seconds ago (promtool's backfill).

    A Prometheus that starts again restores each alert's pending time from them, but only for
    an alert whose expression is true again on its first evaluations: the rules' `for:` stay
    as shipped and are counted from the seeded start; the expressions are judged live."""
    lines = ["# TYPE ALERTS_FOR_STATE gauge"]
    for labels in alerts:
        said = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for at in range(int(now) - 20 * 60, int(now) - 5, 15):
            lines.append(f"ALERTS_FOR_STATE{{{said}}} {int(now) - PENDING_FOR_S} {at}")
    lines.append("# EOF")
    history = tsdb.parent / "pending.om"
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    promtool = shutil.which("promtool")
    assert promtool is not None, "promtool is not installed (scripts/install-debs.sh)"
    done = subprocess.run(
        [promtool, "tsdb", "create-blocks-from", "openmetrics", str(history), str(tsdb)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == done.returncode, done.stderr


async def expect_backups_since(state: Path, ref: str, since: datetime) -> None:
    """The state store says the project's backups have been expected since ``since`` (a
    daemon first started then, and none of its backups ever succeeded)."""
    store = SqliteStore(state)
    await store.open()
    try:
        await store.put_state("backup", f"expected_since:{ref}", {"at": since.isoformat()})
    finally:
        await store.close()


@pytest.fixture
def drained_sim(tmp_path: Path) -> Iterator[Sim]:
    """The simulator with the first project's disk IO budget at 5%: its drain empties it in
    under three minutes. A drain is forecast once it has lasted half its time to empty, so
    from a third of the way on, almost two minutes: long enough for a Prometheus to start and
    restore the alert (an exhausted budget has no forecast: SupabaseIOBudgetExhausted then)."""
    path = tmp_path / "sim.toml"
    path.write_text(
        f'port = 0\ntoken = "{SIM_TOKEN}"\nservice_key = "{SIM_SERVICE_KEY}"\n'
        "resize_seconds = 2\nmetrics_update_s = 0\n"
        f'[[projects]]\nref = "{REF}"\ntier = "micro"\nbudget = 5\n'
        f'[[projects]]\nref = "{OTHER_REF}"\ntier = "micro"\n',
        encoding="utf-8",
    )
    running = launch_sim(path, tmp_path)
    try:
        yield running
    finally:
        running.proc.close()


def test_each_project_alert_fires_for_its_fault(
    drained_sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """A live daemon with four faults, scraped by a real Prometheus with the shipped rules:
    the disk IO budget of one project draining (SupabaseIOBudgetExhaustionSoon), the other's
    REST down (SupabaseProjectUnhealthy) and its backup expected for 27 hours without ever
    succeeding (SupabaseBackupMissed), and the phone's port closed (connections refused:
    SbwatchNotificationsFailing). Their `for:` are served by a seeded pending history, which
    the second project's SupabaseIOBudgetExhaustionSoon has too: it does not fire, as its
    expression is false on the live daemon (that budget is full and not draining)."""
    asyncio.run(
        expect_backups_since(
            tmp_path / "state.db", OTHER_REF, datetime.now(UTC) - timedelta(hours=27)
        )
    )
    sim = drained_sim
    sim.event(kind="workload", read_mbps=150, write_mbps=0, ref=REF)
    sim.event(kind="service", name="rest", up=False, ref=OTHER_REF)
    metrics_port = free_port()
    other = (
        "budget.consumed_pct = 95\n"  # the first project's: as the dashboard shows it
        f'[[projects]]\nref = "{OTHER_REF}"\nname = "books"\ntier = "micro"\n'
        f'url = "{sim.url}/p/{OTHER_REF}"\nservice_key = "{SIM_SERVICE_KEY}"\n'
        f'db_dsn = "postgresql://postgres@127.0.0.1:{free_port()}/postgres"\n'
        f'probes.rest = {{ interval = "1s" }}\nprobes.auth = {{ interval = "1s" }}\n'
        f"probes.db = {{ enabled = false }}\n"
        f'backup = {{ dir = "{tmp_path / "backups"}" }}\n'
    )
    route = f'[[alerting.routes]]\nname = "phone"\nurl = "json://127.0.0.1:{free_port()}/hook"\n'
    # Retries at most 5 s apart: by the time Prometheus starts, a retry backoff grown to
    # minutes would leave the retry counter flat over its first scrapes (no increase, no alert).
    alerting = ConfigParts().alerting + 'retry_max = "5s"\n'
    parts = ConfigParts(extra=route, projects_extra=other, alerting=alerting)
    daemon = daemons.start(daemon_config(sim, tmp_path, metrics_port, parts), metrics_port)

    def faults_seen() -> bool:
        text = daemon.metrics_text()  # one page a poll, read for the four faults
        eta = sample_in(text, "sbwatch_io_budget_exhaustion_eta_seconds", project=REF)
        down = sample_in(text, "sbwatch_diagnosis", project=OTHER_REF, kind="service_down")
        since = sample_in(
            text, "sbwatch_backup_expected_since_timestamp_seconds", project=OTHER_REF
        )
        retried = sample_in(text, "sbwatch_notifications_total", outcome="retry")
        return (
            eta is not None
            and eta < 86_400
            and down == 1
            and since is not None
            and time.time() - since > 26 * 3600
            and bool(retried)
        )

    wait_for("the daemon to see the four faults", faults_seen, DEADLINE_S)
    instance = {"instance": f"127.0.0.1:{metrics_port}", "job": "sbwatch"}
    pending = [
        {"alertname": "SupabaseIOBudgetExhaustionSoon", "project": REF, "severity": "warning"},
        {"alertname": "SupabaseProjectUnhealthy", "project": OTHER_REF, "severity": "critical"},
        {"alertname": "SupabaseBackupMissed", "project": OTHER_REF, "severity": "warning"},
        {
            "alertname": "SupabaseIOBudgetExhaustionSoon",
            "project": OTHER_REF,
            "severity": "warning",
        },
    ]
    tsdb = tmp_path / "tsdb"
    seed_pending(tsdb, [instance | labels for labels in pending], time.time())
    wanted = {
        ("SupabaseIOBudgetExhaustionSoon", REF),
        ("SupabaseProjectUnhealthy", OTHER_REF),
        ("SupabaseBackupMissed", OTHER_REF),
        ("SbwatchNotificationsFailing", ""),
    }
    # Evaluated every 10 s: the pending times are restored after the second evaluation, by
    # when the first scrapes are in even on a busy machine (an alert not yet true then is not
    # restored, and would wait out its whole `for:`).
    with prometheus_scraping(tmp_path, metrics_port, tsdb, evaluation_s=10) as url:

        def all_firing() -> set[tuple[str, str]] | None:
            now = firing_by_project(url)
            return now if wanted <= now else None

        try:
            wait_for("each alert to fire", all_firing, DEADLINE_S)
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}: firing {firing_by_project(url)}") from None
        time.sleep(10)  # one more evaluation: the alert whose expression is false stays unfired
        seen = firing_by_project(url)
    assert wanted <= seen
    assert ("SupabaseIOBudgetExhaustionSoon", OTHER_REF) not in seen
