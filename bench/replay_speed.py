"""Replay speed: one-day random cases and the six-day May 26 replay, fast path against full.

Run: ``python -m bench.replay_speed [--runs N] [--cases K]`` (in-process, loopback only).
The baseline, measured in the same run, is the same replay with ``fast=False``: every request
through httpx's in-process HTTP transport into the simulator's Starlette app, the metrics as
exposition text written and parsed again, every probe row through SQLite, every minute
probed and evaluated. The two reports must be equal (the benchmark fails otherwise).

First ``--cases`` one-day cases of ``sbwatch sim fuzz --seed 1``: cases a second on each
path, by CPU time, the goal being 10 a second on the fast path. Then ``--score-cases`` cases
of ``sbwatch sim score --seed 1`` judged as the scorecard judges them (the replay, the truth's
re-runs and the rules): cases a second of CPU, the full path's beside them, and the judgements
equal; the fast rate is also held to the goal of 10 a second and to the bar of 500 cases in two
minutes on two cores. Then the six-day replay, the goal being under 5 s. The machine's load
average is printed with the tables: on a busy machine compare the ratios and CPU seconds, not
wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sbwatch.core import log
from sbwatch.sim.fuzz import generate, to_toml
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import Scenario, parse_scenario
from sbwatch.sim.scorecard import CaseResult, judge
from sbwatch.sim.scorecard import cases as score_cases

GOAL_S = 5.0
GOAL_CASES_PER_S = 10.0
SCORE_BAR_CASES = 500
SCORE_BAR_CORES = 2
SCORE_BAR_MIN = 2.0
"""``sbwatch sim score --count 500`` (two jobs) should print its scorecard within this."""
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


@dataclass(frozen=True)
class CaseRate:
    """One path over the same one-day cases: wall and CPU seconds, and every report."""

    path: str
    cases: int
    wall_s: float
    cpu_s: float
    reports: list[dict[str, Any]]

    @property
    def per_s(self) -> float:
        """Cases a second of CPU time (one core)."""
        return self.cases / self.cpu_s if self.cpu_s else 0.0


def one_day_cases(count: int, seed: int = 1) -> list[Scenario]:
    """The first ``count`` one-day cases of ``sbwatch sim fuzz --seed`` ``seed``."""
    rng = random.Random(seed)
    docs = [generate(rng, 1.0, index) for index in range(count)]
    return [parse_scenario(to_toml(doc), source=str(doc["name"])) for doc in docs]


def time_cases(cases: list[Scenario], *, fast: bool) -> CaseRate:
    """Replay every case on one path and time the lot."""
    wall, cpu = time.perf_counter(), time.process_time()
    reports = [asyncio.run(replay(case, fast=fast)) for case in cases]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return CaseRate("fast" if fast else "full", len(cases), wall, cpu, reports)


def print_cases(full: CaseRate, fast: CaseRate) -> bool:
    """The one-day case table; whether every report was equal on both paths."""
    print(f"\n## one-day cases of sim fuzz --seed 1 ({fast.cases} cases, same run)")
    print(f"{'path':<8}{'cases':>7}{'wall s':>9}{'CPU s':>8}{'cases/s (CPU)':>15}")
    for rate in (full, fast):
        print(
            f"{rate.path:<8}{rate.cases:>7}{rate.wall_s:>9.2f}{rate.cpu_s:>8.2f}{rate.per_s:>15.2f}"
        )
    print(f"ratio fast / full: {fast.per_s / full.per_s:.2f}x cases a second (CPU)")
    verdict = "within" if fast.per_s >= GOAL_CASES_PER_S else "UNDER"
    print(f"fast path: {fast.per_s:.1f} cases/s ({verdict} the goal of {GOAL_CASES_PER_S:.0f})")
    same = sum(a == b for a, b in zip(fast.reports, full.reports, strict=True))
    print(f"reports equal: {same} of {fast.cases}")
    return same == fast.cases


@dataclass(frozen=True)
class Judged:
    """One path over the same scorecard cases: wall and CPU seconds, and every judgement."""

    path: str
    wall_s: float
    cpu_s: float
    results: list[CaseResult]

    @property
    def per_s(self) -> float:
        """Cases judged a second of CPU time (one core)."""
        return len(self.results) / self.cpu_s if self.cpu_s else 0.0


def time_judged(count: int, *, fast: bool) -> Judged:
    """Judge the first ``count`` cases of ``sbwatch sim score --seed 1`` on one path."""
    docs = list(score_cases(1, count, 1.0))
    wall, cpu = time.perf_counter(), time.process_time()
    results = [judge(doc, index, fast=fast) for index, doc in enumerate(docs)]
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return Judged("fast" if fast else "full", wall, cpu, results)


def _verdict(result: CaseResult) -> tuple[object, ...]:
    """What a judgement says, without its time."""
    return (result.broken, result.counts, result.incidents, result.leads_h, result.pages)


def print_judged(full: Judged, fast: Judged) -> bool:
    """The scorecard table; whether every judgement was equal on both paths."""
    count = len(fast.results)
    print(f"\n## cases of sim score --seed 1, judged ({count} cases, same run)")
    print(f"{'path':<8}{'cases':>7}{'wall s':>9}{'CPU s':>8}{'cases/s (CPU)':>15}")
    for rate in (full, fast):
        print(f"{rate.path:<8}{count:>7}{rate.wall_s:>9.2f}{rate.cpu_s:>8.2f}{rate.per_s:>15.2f}")
    print(f"ratio fast / full: {fast.per_s / full.per_s:.2f}x cases a second (CPU)")
    verdict = "within" if fast.per_s >= GOAL_CASES_PER_S else "UNDER"
    print(f"fast path: {fast.per_s:.1f} cases/s ({verdict} the goal of {GOAL_CASES_PER_S:.0f})")
    minutes = SCORE_BAR_CASES / fast.per_s / SCORE_BAR_CORES / 60
    bar = "within" if minutes <= SCORE_BAR_MIN else "OVER"
    print(
        f"at this rate, {SCORE_BAR_CASES} cases on {SCORE_BAR_CORES} cores: about {minutes:.1f} min"
        f" ({bar} the {SCORE_BAR_MIN:.0f} min bar)"
    )
    same = sum(_verdict(a) == _verdict(b) for a, b in zip(fast.results, full.results, strict=True))
    print(f"judgements equal: {same} of {count}")
    return same == count


def main(argv: list[str] | None = None) -> int:
    """Time both paths, print the tables; 1 when any report differs between them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=1, help="six-day runs per path, best kept")
    parser.add_argument("--cases", type=int, default=20, help="one-day cases per path (1-500)")
    parser.add_argument(
        "--score-cases", type=int, default=10, help="scorecard cases judged per path (1-100)"
    )
    args = parser.parse_args(argv)
    runs = max(1, min(args.runs, 5))
    log.configure("error", "console")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average {load}; {os.cpu_count()} CPUs")
    cases = one_day_cases(max(1, min(args.cases, 500)))
    rates_equal = print_cases(time_cases(cases, fast=False), time_cases(cases, fast=True))
    count = max(1, min(args.score_cases, 100))
    judged_equal = print_judged(time_judged(count, fast=False), time_judged(count, fast=True))
    full, fast = (
        min((time_replay(fast=fast) for _ in range(runs)), key=lambda t: t.wall_s)
        for fast in (False, True)
    )
    print(f"\n## May 26 replay speed (best of {runs})")
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
    return 0 if same and rates_equal and judged_equal else 1


if __name__ == "__main__":
    sys.exit(main())
