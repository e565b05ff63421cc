"""Run every benchmark one after another: ``python -m bench``; each prints its own table.

Each runs in its own process with a time limit, so one slow or failing benchmark does not
stop the others; the exit status is non-zero when any of them failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

MODULES = (
    "startup",
    "bench_probes",
    "bench_data",
    "budget_accuracy",
    "replay_speed",
    "bench_mail",
    "fleet",
)
LIMIT_S = 600
LIMITS_S = {"fleet": 1800}
"""Benchmarks that run longer: the fleet measures four sizes of a minute each, after start-up."""


def main() -> int:
    """Run each present benchmark module; return the number that failed."""
    here = Path(__file__).parent
    failed = 0
    for name in MODULES:
        if not (here / f"{name}.py").exists():
            continue
        print(f"\n# bench.{name}", flush=True)
        started = time.perf_counter()
        limit = LIMITS_S.get(name, LIMIT_S)
        try:
            done = subprocess.run(
                [sys.executable, "-m", f"bench.{name}"],
                cwd=here.parent,
                timeout=limit,
                check=False,
            )
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = -1
            print(f"bench.{name}: stopped after {limit} s")
        took = time.perf_counter() - started
        print(f"# bench.{name}: exit {code}, {took:.1f} s", flush=True)
        failed += code != 0
    return failed


if __name__ == "__main__":
    sys.exit(min(main(), 1))
