"""Replay speed: the six-day May 26 replay on the fast path against the full HTTP path.

Run: ``python -m bench.replay_speed [--runs N]`` (in-process, loopback only, no network).
The baseline, measured in the same run, is the same replay with ``fast=False``: every request
through httpx's in-process HTTP transport into the simulator's Starlette app, the metrics as
exposition text written and parsed again, every probe row through SQLite. The two reports
must be equal (the benchmark fails otherwise). The ratio is the speed-up; the goal is the
six-day replay under 5 s. The machine's load average is printed with the table: on a busy
machine compare the ratio and CPU seconds, not the wall time, with the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sbwatch.core import log
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario

GOAL_S = 5.0
DAY_S = 86_400.0
SCENARIO = "may26-io-exhaustion.toml"


@dataclass(frozen=True)
class Timing:
    """One replay: simulated span, wall and CPU seconds, and its report."""

    path: str
    simulated_s: float
    wall_s: float
    cpu_s: float
    report: dict[str, Any]

    @property
    def per_day_s(self) -> float:
        """Wall seconds per simulated day."""
        return self.wall_s / (self.simulated_s / DAY_S)


def time_replay(*, fast: bool) -> Timing:
    """Replay the shipped May 26 scenario on one path and time it."""
    text = resources.files("sbwatch.sim.scenarios").joinpath(SCENARIO).read_text("utf-8")
    scenario = parse_scenario(text, source=SCENARIO)
    wall, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(replay(scenario, fast=fast))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timing("fast" if fast else "full", scenario.duration_s, wall, cpu, report)


def main(argv: list[str] | None = None) -> int:
    """Time both paths (best of ``--runs``), print the table; 1 when the reports differ."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="runs per path, best kept (1-5)")
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs, 5))
    log.configure("error", "console")
    full, fast = (
        min((time_replay(fast=fast) for _ in range(runs)), key=lambda t: t.wall_s)
        for fast in (False, True)
    )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n## May 26 replay speed (best of {runs}; load average {load}; {os.cpu_count()} CPUs)")
    print(f"{'path':<8}{'simulated':>10}{'wall s':>9}{'CPU s':>8}{'s/sim day':>11}{'checks':>8}")
    for t in (full, fast):
        print(
            f"{t.path:<8}{t.simulated_s / DAY_S:>9.3f}d{t.wall_s:>9.2f}{t.cpu_s:>8.2f}"
            f"{t.per_day_s:>11.2f}{'pass' if t.report['passed'] else 'FAIL':>8}"
        )
    print(
        f"ratio full / fast: {full.wall_s / fast.wall_s:.2f}x wall, "
        f"{full.cpu_s / fast.cpu_s:.2f}x CPU"
    )
    verdict = "within" if fast.wall_s <= GOAL_S else "OVER"
    print(f"six-day replay: {fast.wall_s:.1f} s wall ({verdict} the {GOAL_S:.0f} s goal)")
    same = fast.report == full.report
    print(f"reports equal: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
