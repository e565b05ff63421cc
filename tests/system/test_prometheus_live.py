"""A real Prometheus (Debian's) scrapes a live daemon with the shipped rules: the alerts of a
token about to expire and of a phone that cannot be reached fire."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import (
    ConfigParts,
    DaemonFactory,
    Proc,
    Sim,
    child_env,
    daemon_config,
    free_port,
    wait_for,
)

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "rules" / "sbwatch.rules.yml"
DEADLINE_S = 90.0


def firing(url: str) -> set[str]:
    """The names of the alerts Prometheus has firing."""
    try:
        body: dict[str, Any] = httpx.get(f"{url}/api/v1/alerts", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return set()
    return {a["labels"]["alertname"] for a in body["data"]["alerts"] if a["state"] == "firing"}


def test_the_shipped_rules_fire_on_a_live_daemon(
    sim: Sim, daemons: DaemonFactory, tmp_path: Path
) -> None:
    """The token expires in 5 days and the only route's port is closed: Prometheus, scraping
    the daemon every second, fires SbwatchTokenExpiring and SbwatchNotificationsFailing (its
    retries grow, nothing is sent, none has failed for good)."""
    prometheus = shutil.which("prometheus")
    assert prometheus is not None, "prometheus is not installed (scripts/install-debs.sh)"
    expires = (datetime.now(UTC) + timedelta(days=5)).date()
    metrics_port = free_port()
    route = f'[[alerting.routes]]\nname = "phone"\nurl = "json://127.0.0.1:{free_port()}/hook"\n'
    text = daemon_config(sim, tmp_path, metrics_port, ConfigParts(extra=route))
    text = text.replace("[status_page]", f"mgmt_token_expires = {expires}\n\n[status_page]", 1)
    daemons.start(text, metrics_port)

    web_port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: sbwatch\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n",
        encoding="utf-8",
    )
    argv = [
        prometheus,
        f"--config.file={config}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{web_port}",
    ]
    server = Proc("prometheus", argv, tmp_path, child_env())
    try:
        url = f"http://127.0.0.1:{web_port}"
        wanted = {"SbwatchTokenExpiring", "SbwatchTokenExpiringSoon", "SbwatchNotificationsFailing"}

        def all_firing() -> set[str] | None:
            now = firing(url)
            return now if wanted <= now else None

        seen = wait_for("the alerts to fire", all_firing, DEADLINE_S)
        assert "SupabaseProjectDown" not in seen
    finally:
        server.close()
