"""Replay speed: wall time of the six-day scenario replay against its 30 s goal.

Run: ``python -m bench.replay_speed [--runs N]`` (in-process, loopback only, no network).
The baseline, measured in the same run, is the 3-hour platform-outage replay: the same
watcher, simulator and store, so seconds per simulated day should match when nothing in the
replay grows with its length. The machine's load average is printed with the table: on a
busy machine the absolute numbers are not the ones to compare with the goal.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from dataclasses import dataclass
from importlib import resources

from sbwatch.core import log
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario

GOAL_S = 30.0
DAY_S = 86_400.0
SCENARIOS = ("platform-outage.toml", "may26-io-exhaustion.toml")


@dataclass(frozen=True)
class Timing:
    """One replay: simulated span, wall and CPU seconds, and whether its checks held."""

    name: str
    simulated_s: float
    wall_s: float
    cpu_s: float
    passed: bool

    @property
    def per_day_s(self) -> float:
        """Wall seconds per simulated day."""
        return self.wall_s / (self.simulated_s / DAY_S)


def time_replay(file_name: str) -> Timing:
    """Replay one shipped scenario and time it."""
    text = resources.files("sbwatch.sim.scenarios").joinpath(file_name).read_text("utf-8")
    scenario = parse_scenario(text, source=file_name)
    wall, cpu = time.perf_counter(), time.process_time()
    report = asyncio.run(replay(scenario))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Timing(scenario.name, scenario.duration_s, wall, cpu, bool(report["passed"]))


def main(argv: list[str] | None = None) -> None:
    """Time both replays (best of ``--runs``) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="runs per scenario, best kept (1-5)")
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs, 5))
    log.configure("error", "console")
    best = [
        min((time_replay(name) for _ in range(runs)), key=lambda t: t.wall_s) for name in SCENARIOS
    ]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\n## replay speed (best of {runs}; load average {load}; {os.cpu_count()} CPUs)")
    print(
        f"{'scenario':<22}{'simulated':>10}{'wall s':>9}{'CPU s':>8}{'s/sim day':>11}{'checks':>8}"
    )
    for t in best:
        print(
            f"{t.name:<22}{t.simulated_s / DAY_S:>9.3f}d{t.wall_s:>9.2f}{t.cpu_s:>8.2f}"
            f"{t.per_day_s:>11.2f}{'pass' if t.passed else 'FAIL':>8}"
        )
    base, six = best
    print(f"ratio s/sim day, {six.name} / {base.name}: {six.per_day_s / base.per_day_s:.2f}")
    verdict = "within" if six.wall_s <= GOAL_S else "OVER"
    print(f"six-day replay: {six.wall_s:.1f} s wall ({verdict} the {GOAL_S:.0f} s goal)")


if __name__ == "__main__":
    main()
