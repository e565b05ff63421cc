"""Budget estimator accuracy against the simulator's disk IO model, as a table.

Run: ``python -m bench.budget_accuracy`` (or ``python bench/budget_accuracy.py``).
Per tier and load shape: max and mean absolute ratio error (percentage points), the largest
ETA error (% of the true time-to-empty, once the burn has lasted an hour) and the number of
ETA points judged; first on ideal scrapes, then with realistic imperfections, then with the
simulator's hidden true limits 30% above the published ones (which the estimator cannot read).
Shapes include small random IO that drains the IOPS balance while MB/s stay low.
"""

from __future__ import annotations

from sbwatch.sim.accuracy import Realism, Result, run_all

SETTINGS = (
    ("ideal scrapes every 60 s", Realism(), 1.0),
    ("1 s timestamp jitter, 3% scrapes lost", Realism(jitter_s=1.0, drop=0.03), 1.0),
    ("plus +-10% load noise each minute", Realism(noise=0.1, jitter_s=1.0, drop=0.03), 1.0),
    ("true limits 30% above the published ones, ideal scrapes", Realism(), 1.3),
)


def _row(result: Result) -> str:
    eta = result.max_eta_error
    eta_text = "-" if eta is None else f"{eta * 100:.1f}"
    return (
        f"{result.tier!s:<7}{result.shape:<16}{result.max_ratio_error * 100:>9.2f}"
        f"{result.mean_ratio_error * 100:>10.3f}{eta_text:>10}{len(result.eta_errors):>7}"
        f"{result.eta_missing:>9}"
    )


def main() -> None:
    """Print one table per realism setting."""
    for title, realism, factor in SETTINGS:
        print(f"\n## {title}")
        print(
            f"{'tier':<7}{'shape':<16}{'maxR pp':>9}{'meanR pp':>10}{'maxETA %':>10}{'n ETA':>7}"
            f"{'no ETA':>9}"
        )
        for result in run_all(realism=realism, true_limits_factor=factor, with_iops=True):
            print(_row(result))


if __name__ == "__main__":
    main()
