"""Secrets never leak: not in logs, metrics, status output or configuration errors."""

from __future__ import annotations

import json
import signal
from functools import partial
from pathlib import Path

import pytest

from .conftest import (
    OTHER_REF,
    REF,
    ConfigParts,
    DaemonFactory,
    FakeImap,
    Receiver,
    daemon_config,
    free_port,
    run_cli,
    start_sim,
    wait_for,
)

pytestmark = pytest.mark.integration

GOOD_TOKEN = "sbp_4e4bf698572830e6899401e734bda31699d7d7bd"
BAD_TOKEN = "sbp_96174b36f51f045c663866e4a4606f813b18528e"
GOOD_KEY = "leakcheck-service-key-c0ffee"
BAD_KEY = "leakcheck-wrong-service-key-beef"
DB_PASSWORD = "leakcheck-db-password-1234"
DEAD_DB_PASSWORD = "leakcheck-dead-db-password-9876"
ROUTE_PASSWORD = "leakcheck-route-password-abcd"
ROUTE_TOKEN = "leakcheck-route-token-0f0f"
HEARTBEAT_TOKEN = "leakcheck-heartbeat-token-4242"
IMAP_PASSWORD = "leakcheck-imap-password-5555"
SECRETS = (
    GOOD_TOKEN,
    BAD_TOKEN,
    GOOD_KEY,
    BAD_KEY,
    DB_PASSWORD,
    DEAD_DB_PASSWORD,
    ROUTE_PASSWORD,
    ROUTE_TOKEN,
    HEARTBEAT_TOKEN,
    IMAP_PASSWORD,
)


def _extra(receiver: Receiver, imap: FakeImap) -> tuple[str, str]:
    """A second project whose credentials are all rejected, plus routes, heartbeat and mail."""
    dead_port = free_port()
    project = f"""
[[projects]]
ref = "{OTHER_REF}"
name = "rejected"
tier = "micro"
url = "{{base}}/p/{OTHER_REF}"
mgmt_token = "{BAD_TOKEN}"
service_key = "{BAD_KEY}"
db_dsn = "postgresql://postgres:{DEAD_DB_PASSWORD}@127.0.0.1:{dead_port}/postgres"
probes.rest = {{ interval = "1s" }}
probes.db = {{ interval = "1s" }}
probes.mgmt_health = {{ interval = "1s" }}
probes.metrics = {{ interval = "1s" }}
"""
    rest = f"""
[[alerting.routes]]
name = "phone"
url = "json://sbwatch:{ROUTE_PASSWORD}@127.0.0.1:{receiver.port}/hook/{ROUTE_TOKEN}"

[mail]
enabled = true
host = "127.0.0.1"
port = {imap.port}
security = "plain"
username = "ops"
password = "{IMAP_PASSWORD}"
"""
    return project, rest


def _assert_clean(where: str, text: str) -> None:
    leaked = [secret for secret in SECRETS if secret in text]
    assert ([], True) == (leaked, bool(text)), f"{where} leaks {leaked}"


def test_no_secret_reaches_any_output(
    daemons: DaemonFactory, receiver: Receiver, fake_imap: FakeImap, tmp_path: Path
) -> None:
    """A debug-level run with accepted and rejected credentials prints no secret anywhere."""
    sim = start_sim(tmp_path, token=GOOD_TOKEN, service_key=GOOD_KEY)
    daemons.started.append(sim.proc)
    receiver.status[0] = 500
    project, rest = _extra(receiver, fake_imap)
    parts = ConfigParts(
        mgmt_token=GOOD_TOKEN,
        service_key=GOOD_KEY,
        db_dsn=f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:5432/postgres",
        projects_extra=project.replace("{base}", sim.url),
        alerting=(
            'min_duration = "0s"\nresolve_after = "2s"\n'
            f'heartbeat_url = "http://127.0.0.1:{receiver.port}/ping/{HEARTBEAT_TOKEN}"\n'
        ),
        extra=rest,
    )
    port = free_port()
    daemon = daemons.start(daemon_config(sim, tmp_path, port, parts), port)
    sim.event(kind="service", name="rest", up=False, ref=REF)

    def failed(probe: str) -> bool:
        return any(
            e["project"] == OTHER_REF and e["probe"] == probe and e["outcome"] != "ok"
            for e in daemon.events("probe finished")
        )

    for probe in ("mgmt_health", "rest", "db", "metrics"):
        wait_for(f"the rejected {probe} probe", partial(failed, probe))
    wait_for("a heartbeat", lambda: any("/ping/" in r["path"] for r in receiver.requests))
    wait_for("a refused notification", lambda: daemon.events("notification retry"))
    wait_for("a refused IMAP login", lambda: fake_imap.logins)
    wait_for("the mail error logged", lambda: daemon.events("mail login refused"))
    assert daemon.sample("sbwatch_probe_success", project=OTHER_REF, probe="mgmt_health") == 0.0
    assert any(IMAP_PASSWORD in line for line in fake_imap.logins)  # the secret was really used

    metrics = daemon.metrics_text()
    status = daemon.status("--json")
    assert json.loads(status.stdout)["projects"]
    daemon.proc.signal(signal.SIGTERM)
    assert 0 == daemon.proc.wait(timeout_s=5)

    _assert_clean("metrics", metrics)
    _assert_clean("status --json", status.stdout + status.stderr + "-")
    _assert_clean("daemon output", daemon.proc.stdout + daemon.proc.stderr)


def test_config_errors_do_not_print_secrets(tmp_path: Path) -> None:
    """check-config names the broken keys around secrets without printing their values."""
    config = tmp_path / "config.toml"
    config.write_text(
        f"""mgmt_tokn = "{GOOD_TOKEN}"
mgmt_api_url = "ftp://user:{ROUTE_PASSWORD}@example.com"

[mail]
enabled = true
host = "imap.example.com"
security = "plain"
password = "{IMAP_PASSWORD}"

[state]
backend = "postgres"
dsn = 12

[[alerting.routes]]
name = "Phone!"
url = "json://user:{ROUTE_TOKEN}@127.0.0.1/hook"
colour = "{HEARTBEAT_TOKEN}"

[[projects]]
ref = "short"
service_key = ["{GOOD_KEY}"]
db_dsn = "postgresql://postgres:{DB_PASSWORD}@127.0.0.1:99999/postgres"
mgmt_token = "env:SBWATCH_LEAKCHECK_UNSET"
""",
        encoding="utf-8",
    )
    done = run_cli("--config", str(config), "check-config")
    assert 1 == done.returncode
    assert 7 <= len(done.stderr.splitlines()), done.stderr
    _assert_clean("check-config", done.stdout + done.stderr)
