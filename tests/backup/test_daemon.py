"""`sbwatch run` backs up on start when the day's run is missing, and exports the metrics."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.servers import free_port

from .conftest import REF, SECRETS, Database, complete_backups, write_config

pytestmark = pytest.mark.integration
DEADLINE_S = 60.0


def _samples(port: int) -> dict[str, float]:
    """The daemon's backup samples of the project, by name; empty while it does not answer."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return {}
    return {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("sbwatch_backup_") and s.labels.get("project") == REF
    }


def _wait(what: str, check: Callable[[], bool]) -> None:
    """Poll until ``check`` holds; fail naming ``what`` at the deadline."""
    end = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_the_daemon_catches_up_verifies_and_exports(db64: Database, tmp_path: Path) -> None:
    """No backup yet at start: the daemon takes one, restores it, and exports all four gauges."""
    port = free_port()
    top = f'log_level = "debug"\n[metrics]\nport = {port}\n'
    config = write_config(tmp_path / "c.toml", db64.secret_dsn, top=top)
    text = config.read_text(encoding="utf-8").replace("[metrics]\nenabled = false\n", "")
    config.write_text(text, encoding="utf-8")
    out, err = tmp_path / "daemon.out", tmp_path / "daemon.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sbwatch", "--config", str(config), "run"],
            stdout=stdout,
            stderr=stderr,
        )
        try:
            _wait(
                "the restore check in the metrics",
                lambda: "sbwatch_backup_verify_ok" in _samples(port),
            )
            samples = _samples(port)
            proc.send_signal(signal.SIGTERM)
            assert 0 == proc.wait(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert 1.0 == samples["sbwatch_backup_verify_ok"]
    assert samples["sbwatch_backup_bytes"] > 0
    assert time.time() - samples["sbwatch_backup_last_success_timestamp_seconds"] < DEADLINE_S
    assert 1 == len(complete_backups(tmp_path / "backups" / REF))
    logs = out.read_text() + err.read_text()
    events = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    finished = [e for e in events if e["event"] == "backup finished"]
    assert [(REF, 64)] == [(e["project"], e["tables"]) for e in finished]
    assert [] == [s for s in SECRETS if s in logs]
