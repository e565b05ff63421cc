"""Start-up cost of the command line: CPU seconds per call, beside ``python -c pass``.

Run manually: ``python -m bench.startup [--runs N]``. Each command runs N times in a fresh
process (user + system CPU of the child, from ``os.wait4``); the table gives the median, the
goal, and the ratio to a bare interpreter measured in the same run, so a loaded machine moves
both. ``status`` reads a configuration and a state store made for the run (one project, an
empty SQLite store: what a first look costs). Bytecode is written and each call runs once
before it is measured, as an installed sbwatch runs from compiled modules.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

GOALS_S = {"python -c pass": None, "--help": 0.3, "version": 0.3, "status": 0.6}
CONFIG = '[state]\npath = "state.db"\n[[projects]]\nref = "abcdefghijklmnopqrst"\nprobes = {}\n'


def cpu_s(argv: list[str], cwd: Path) -> float:
    """The CPU seconds (user + system) one run of ``argv`` took."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    proc = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def command_lines(config: Path) -> dict[str, list[str]]:
    """Each measured call, by its name in the table."""
    sbwatch = [sys.executable, "-m", "sbwatch"]
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "--help": [*sbwatch, "--help"],
        "version": [*sbwatch, "version"],
        "status": [*sbwatch, "--config", str(config), "status"],
    }


def main() -> int:
    """Measure each call ``--runs`` times; print the table; 1 when a goal is missed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        config = work / "config.toml"
        config.write_text(CONFIG, encoding="utf-8")
        silenced = [sys.executable, "-m", "sbwatch", "--config", str(config), "silence", "*"]
        subprocess.run([*silenced, "--for", "1m"], cwd=work, check=True, capture_output=True)
        lines = command_lines(config)
        for argv in lines.values():
            cpu_s(argv, work)  # compiles what the call imports
        medians = {
            name: statistics.median(cpu_s(argv, work) for _ in range(args.runs))
            for name, argv in lines.items()
        }
    bare = medians["python -c pass"]
    print(f"{'call':<16} {'CPU s':>7} {'goal s':>7} {'x python':>9}")
    missed = 0
    for name, median in medians.items():
        goal = GOALS_S[name]
        missed += goal is not None and median > goal
        ratio = median / bare if bare > 0 else float("nan")
        goal_text = "-" if goal is None else f"{goal:.2f}"
        print(f"{name:<16} {median:>7.3f} {goal_text:>7} {ratio:>9.1f}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
