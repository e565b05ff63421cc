"""Fixtures of the replay tests: `sbwatch sim replay` and `sbwatch demo`.

The six-day scenario and the demo each take tens of seconds, so they run once per session,
side by side, as subprocesses, and every test shares their results. The short scenarios
replay through the CLI's main() in the test's process (tests/in_process.py); test_cli.py
keeps real processes for the exit codes and the text output.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.in_process import run_main

HERE = Path(__file__).parent
DATA = HERE / "data"
ROOT = HERE.parents[1]
SHIPPED = ROOT / "src" / "sbwatch" / "sim" / "scenarios"
SHARED = ROOT / "tests" / "fixtures" / "scenarios"
REPLAY_TIMEOUT_S = 300


def scenario_path(name: str) -> Path:
    """The design's copy of a scenario."""
    return SHARED / name


SHIPPED_MAY26 = SHIPPED / "may26-io-exhaustion.toml"
"""The May 26 scenario as sbwatch ships it: its expectations follow the simulated world
(micro -> small -> medium), where the shared copy still expects one change to small."""


def sbwatch(*args: str | Path) -> list[str]:
    """The command line running sbwatch with this interpreter."""
    return [sys.executable, "-m", "sbwatch", *(str(a) for a in args)]


@dataclass(frozen=True)
class Run:
    """One finished command: exit code, outputs, and the JSON report when it printed one."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The JSON report printed on stdout."""
        data: dict[str, Any] = json.loads(self.stdout)
        return data


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SBWATCH_CONFIG", None)
    return env


def run_cli(*args: str | Path, cwd: Path | None = None) -> Run:
    """Run sbwatch to completion."""
    done = subprocess.run(
        sbwatch(*args),
        capture_output=True,
        text=True,
        timeout=REPLAY_TIMEOUT_S,
        env=_env(),
        cwd=cwd,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def run_here(*args: str | Path) -> Run:
    """Run sbwatch to completion in this process, through the CLI's main()."""
    ran = run_main(*args)
    return Run(ran.returncode, ran.stdout, ran.stderr)


def replay_json(path: Path) -> Run:
    """`sbwatch sim replay PATH --json`, in this process."""
    return run_here("sim", "replay", path, "--json")


@dataclass(frozen=True)
class LongRuns:
    """The six-day replay (JSON and HTML report) and the demo, run once per session."""

    may26: Run
    may26_html: Path
    demo: Run
    demo_html: Path
    may26_off: Run
    """The same six days with the policy mode set to off: nothing stops the drain."""


def may26_off(scenario: Path, directory: Path) -> Path:
    """The May 26 scenario with escalation off, expecting only what must hold without it."""
    text = scenario.read_text(encoding="utf-8")
    text = text.replace('mode = "auto"', 'mode = "off"')
    text = (
        text[: text.index("[expect]")] + '[expect]\nnever = ["platform_outage", "local_network"]\n'
    )
    path = directory / "may26-off.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _start(args: list[str], workdir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=workdir
    )


def _finish(process: subprocess.Popen[str]) -> Run:
    try:
        out, err = process.communicate(timeout=REPLAY_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return Run(process.returncode, out, err)


@pytest.fixture(scope="session")
def long_runs(tmp_path_factory: pytest.TempPathFactory) -> LongRuns:
    """The may26 replay with --json --report and `sbwatch demo --quiet --report`, in parallel;
    once for the whole run: the workers of a parallel run (pytest-xdist) share one result
    under their common temporary directory, the first to ask makes it, the others wait."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    saved = shared / "long-runs.json"
    with (shared / "long-runs.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not saved.exists():
            runs = _long_runs(shared / "long-runs")
            saved.write_text(json.dumps(_as_dict(runs)), encoding="utf-8")
    data = json.loads(saved.read_text(encoding="utf-8"))
    return LongRuns(
        Run(**data["may26"]),
        Path(data["may26_html"]),
        Run(**data["demo"]),
        Path(data["demo_html"]),
        may26_off=Run(**data["may26_off"]),
    )


def _as_dict(runs: LongRuns) -> dict[str, Any]:
    return {
        "may26": asdict(runs.may26),
        "may26_html": str(runs.may26_html),
        "demo": asdict(runs.demo),
        "demo_html": str(runs.demo_html),
        "may26_off": asdict(runs.may26_off),
    }


def _long_runs(base: Path) -> LongRuns:
    base.mkdir(parents=True, exist_ok=True)
    may26_html = base / "may26.html"
    demo_html = base / "demo.html"
    scenario = SHIPPED_MAY26
    replay = _start(sbwatch("sim", "replay", scenario, "--json", "--report", may26_html), base)
    demo = _start(sbwatch("demo", "--quiet", "--report", demo_html), base)
    off = _start(sbwatch("sim", "replay", may26_off(scenario, base), "--json"), base)
    try:
        return LongRuns(
            _finish(replay), may26_html, _finish(demo), demo_html, may26_off=_finish(off)
        )
    finally:
        for process in (replay, demo, off):
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.fixture(scope="session")
def variants() -> dict[str, Run]:
    """Replays of tests/replay/data/*.toml, each run once on first use."""
    return {}


@pytest.fixture
def variant(variants: dict[str, Run]) -> Any:
    """``variant("ask-mode")`` -> the Run of tests/replay/data/ask-mode.toml (cached)."""

    def get(name: str) -> Run:
        if name not in variants:
            variants[name] = replay_json(DATA / f"{name}.toml")
        return variants[name]

    return get
