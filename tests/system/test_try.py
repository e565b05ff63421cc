"""``sbwatch try``: its files stay valid, and the three processes it runs reach a phone and stop."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.in_process import run_main

from sbwatch.commands.tryout_config import (
    BUDGET_LEFT_PCT,
    EXAMPLE_SIM_PORT,
    REF,
    TryPlan,
    daemon_toml,
    example_plan,
    sim_toml,
)
from sbwatch.commands.tryout_phone import phone_lines
from sbwatch.config.settings import AlertingSettings, load_settings
from sbwatch.core.results import ProbeKind
from sbwatch.probes import REGISTRY
from sbwatch.sim.serve import load_sim_config

from .conftest import Proc, child_env, run_cli, sbwatch_argv, wait_for

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGENERATE = (
    "regenerate with: .venv/bin/python -c 'from pathlib import Path; "
    "from sbwatch.commands.tryout_config import *; "
    'Path("examples/sim.toml").write_text(sim_toml(EXAMPLE_SIM_PORT)); '
    'Path("examples/try.toml").write_text(daemon_toml(example_plan()))\''
)


def plan(tmp_path: Path, *, fast: bool = False) -> TryPlan:
    """The configuration ``try`` would write into ``tmp_path``."""
    return TryPlan("http://127.0.0.1:8787", 8790, 9464, tmp_path / "state.db", 40.0, fast=fast)


def test_shipped_examples_are_what_try_writes() -> None:
    """examples/sim.toml and examples/try.toml are the command's own texts, word for word."""
    assert sim_toml(EXAMPLE_SIM_PORT) == (EXAMPLES / "sim.toml").read_text(), REGENERATE
    assert daemon_toml(example_plan()) == (EXAMPLES / "try.toml").read_text(), REGENERATE


def test_shipped_sim_toml_parses_as_sim_serve_reads_it() -> None:
    """``sim serve --config examples/sim.toml`` reads one micro project at 60% left."""
    config = load_sim_config(EXAMPLES / "sim.toml")
    assert ((REF, "micro", BUDGET_LEFT_PCT),) == config.projects
    assert EXAMPLE_SIM_PORT == config.port


@pytest.mark.parametrize("fast", [False, True])
def test_generated_config_passes_check_config(tmp_path: Path, fast: bool) -> None:
    """``sbwatch check-config`` accepts what ``try`` writes, apprise route included (run in
    this process; the shipped example below is checked by a process of its own)."""
    path = tmp_path / "sbwatch.toml"
    path.write_text(daemon_toml(plan(tmp_path, fast=fast)), encoding="utf-8")
    done = run_main("check-config", path)
    assert (0, "configuration ok: 1 project(s)\n", "") == (
        done.returncode,
        done.stdout,
        done.stderr,
    )


def test_shipped_try_toml_passes_check_config(tmp_path: Path) -> None:
    """``sbwatch check-config examples/try.toml`` passes (its state file is made in the cwd)."""
    argv = sbwatch_argv("check-config", str(EXAMPLES / "try.toml"))
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=child_env())
    assert 0 == done.returncode, done.stderr
    assert "configuration ok" in done.stdout


def test_default_intervals_are_the_product_defaults(tmp_path: Path) -> None:
    """Without --fast every probe, the status page and resolve_after keep their defaults;
    the db probe (no database behind the simulator) is not run; the budget starts from the
    simulator's level."""
    path = tmp_path / "sbwatch.toml"
    path.write_text(daemon_toml(plan(tmp_path)), encoding="utf-8")
    settings = load_settings(path, require_projects=True)
    project = settings.projects[0]
    kinds = [ProbeKind.REST, ProbeKind.AUTH, ProbeKind.MGMT_HEALTH, ProbeKind.METRICS]
    assert kinds == project.enabled_probes()
    assert {k: REGISTRY[k].interval for k in kinds} == {
        k: project.probes[k].interval for k in kinds
    }
    assert REGISTRY[ProbeKind.STATUS_PAGE].interval == settings.status_page.interval
    assert AlertingSettings().resolve_after == settings.alerting.resolve_after
    assert 40.0 == project.budget.consumed_pct
    fast = load_settings(_write(tmp_path, replace(plan(tmp_path), fast=True)))
    assert 2.0 == fast.projects[0].probes[ProbeKind.REST].interval.total_seconds()


def _write(tmp_path: Path, p: TryPlan) -> Path:
    path = tmp_path / "fast.toml"
    path.write_text(daemon_toml(p), encoding="utf-8")
    return path


def test_phone_prints_title_and_body_as_sent() -> None:
    """The phone prints the notification's title on one stamped line and each body line below."""
    payload = {"title": "CRITICAL shop: rest is down", "message": "rest probe down\nSince x."}
    lines = phone_lines({**payload, "type": "failure"}, datetime(2026, 5, 26, 9, 5, 1, tzinfo=UTC))
    assert [
        "phone 09:05:01 !! CRITICAL shop: rest is down",
        "                  rest probe down",
        "                  Since x.",
    ] == lines


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.integration
@pytest.mark.slow
def test_try_reaches_the_phone_and_stops_cleanly(tmp_path: Path) -> None:
    """``sbwatch try --fast``; then ``sim ctl service name=rest up=false`` (finding the
    simulator through the URL file the guide names) makes the phone print the alert's title
    and body; ``budget`` starts at the simulator's level; SIGINT stops all three, exit 0,
    no process or port left behind, the temporary directory removed."""
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path))
    proc = Proc("try", sbwatch_argv("try", "--fast"), tmp_path, env)
    try:

        def guided() -> str | None:
            return proc.stdout if "Ctrl-C stops" in proc.stdout else None

        guide = wait_for("the guide", guided, 90)
        assert str(tmp_path / "sbwatch-sim.url") in guide
        config = re.search(r"sbwatch --config (\S+) run", guide)
        ports = [int(p) for p in re.findall(r"(?:http|json)://127\.0\.0\.1:(\d+)", guide)]
        assert config is not None
        assert 3 == len(set(ports))  # the simulator, the status page and the phone
        children = children_of(proc.popen.pid)
        assert 2 == len(children)  # the simulator and the daemon; the phone is a thread

        done = run_cli("sim", "ctl", "service", "name=rest", "up=false", env=env)
        assert 0 == done.returncode, done.stderr

        def alert() -> str | None:
            found = re.search(
                r"phone \d\d:\d\d:\d\d !! (CRITICAL shop: .*)\n((?: {18}.*\n)+)", proc.stdout
            )
            return found.group(0) if found else None  # fmt: skip

        printed = wait_for("the phone to print the alert", alert, 60)
        assert "CRITICAL shop: rest is down" in printed
        assert "rest probe down" in printed

        budget = run_cli("--config", config.group(1), "budget", "--json", env=env)
        assert 0 == budget.returncode, budget.stderr
        estimate = json.loads(budget.stdout)[0]["estimate"]
        assert estimate is not None
        assert abs(BUDGET_LEFT_PCT - estimate["left_pct"]) < 3  # where the simulator was

        proc.signal(signal.SIGINT)
        assert 0 == proc.wait(timeout_s=40), proc.stderr
    finally:
        proc.close()
    assert proc.stdout.rstrip().endswith("stopped")
    assert [] == [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert [] == [port for port in ports if listening(port)]
    assert not Path(config.group(1)).parent.exists()
    assert not (tmp_path / "sbwatch-sim.url").exists()
    assert "" == proc.stderr


def test_try_refuses_a_config(tmp_path: Path) -> None:
    """``try`` writes its own configuration: a --config is refused in one line, exit 2."""
    done = run_cli("--config", str(tmp_path / "x.toml"), "try")
    assert (2, 1) == (done.returncode, len(done.stderr.splitlines()))
    assert not os.listdir(tmp_path)


@pytest.mark.integration
@pytest.mark.slow
def test_piped_try_prints_commands_that_run_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    """``sbwatch try | tee log``: the guide's ``sim ctl`` line runs as printed from another
    shell (no ``sbwatch`` on PATH), and Ctrl-C, which stops ``tee`` too, still stops the
    simulator and the daemon and removes the temporary directory."""
    env = child_env(XDG_RUNTIME_DIR=str(tmp_path))
    env["PATH"] = "/usr/bin:/bin"  # no sbwatch on it, as after `make try`
    err = tmp_path / "try.err"
    with err.open("wb") as stderr:
        proc = subprocess.Popen(
            sbwatch_argv("try", "--fast"), stdout=subprocess.PIPE, stderr=stderr, env=env
        )
    assert proc.stdout is not None
    try:
        guide = ""
        while "pin it down." not in guide:
            line = proc.stdout.readline().decode()
            assert line, "try ended before its guide"
            guide += line
        assert "resolves once its fault has been gone for 10 s" in guide
        printed = re.search(r"^  (\S+ sim ctl service name=\S+ up=false)", guide, re.MULTILINE)
        assert printed is not None, guide
        done = subprocess.run(
            printed.group(1).split(), capture_output=True, text=True, env=env, timeout=30
        )
        assert 0 == done.returncode, done.stderr
        config = re.search(r"--config (\S+) run", guide)
        assert config is not None
        children = children_of(proc.pid)
        assert 2 == len(children)
        proc.stdout.close()  # the reader (tee) is gone
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert [] == [pid for pid in children if Path(f"/proc/{pid}").exists()]
    assert not Path(config.group(1)).parent.exists()
    assert "Traceback" not in err.read_text()
