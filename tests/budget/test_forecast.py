"""The budget run forward through the week's pattern: refilling, held empty, running out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sbwatch.core.results import BudgetEstimate
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import refilling
from sbwatch.policy.forecast import Profile, run_forward
from sbwatch.policy.tokens import Bucket

NOW = datetime(2026, 5, 25, 12, tzinfo=UTC)
BASELINE_MB, BURST_MB = 11.0, 260.0
BASELINE_OPS, BURST_OPS = 500.0, 11_800.0


def learned(mbps: float, iops: float) -> Profile:
    """A profile that has seen two days of a flat load."""
    profile = Profile()
    for hour in range(48):
        profile.add(NOW - timedelta(hours=hour), 3600.0, mbps, iops)
    assert profile.known
    return profile


def buckets(ratio: float) -> tuple[Bucket, Bucket]:
    return (
        Bucket.new(BASELINE_MB, BURST_MB, ratio, known=True),
        Bucket.new(BASELINE_OPS, BURST_OPS, ratio, known=True),
    )


def test_a_load_under_the_baseline_refills() -> None:
    """Half the baseline: the balance earns back every day, not at risk."""
    mb, ops = buckets(0.3)
    outlook = run_forward(mb, ops, learned(5.0, 100.0), NOW, (5.0, 100.0), (5.0, 100.0))
    assert (None, True) == (outlook.eta_s, outlook.refills)


def test_an_empty_balance_held_at_the_baseline_is_not_refilling() -> None:
    """Throttled: the load served is the baseline and the balance stays empty. It does not
    drain (no ETA) and it does not earn back either: not the refilling that needs no money."""
    mb, ops = buckets(0.0)
    at_baseline = (BASELINE_MB, 100.0)
    outlook = run_forward(mb, ops, learned(*at_baseline), NOW, at_baseline, at_baseline)
    assert (None, False) == (outlook.eta_s, outlook.refills)


def test_a_half_full_balance_at_the_baseline_is_not_at_risk() -> None:
    """Neither draining nor empty: a steady balance counts as earning back what it spends."""
    mb, ops = buckets(0.5)
    at_baseline = (BASELINE_MB, 100.0)
    outlook = run_forward(mb, ops, learned(*at_baseline), NOW, at_baseline, at_baseline)
    assert (None, True) == (outlook.eta_s, outlook.refills)


def test_a_load_over_the_baseline_runs_out() -> None:
    """Twice the baseline: an ETA, no refill."""
    mb, ops = buckets(0.5)
    load = (2 * BASELINE_MB, 100.0)
    outlook = run_forward(mb, ops, learned(*load), NOW, load, load)
    assert outlook.eta_s is not None
    assert not outlook.refills


def test_a_nearly_empty_budget_served_at_the_baseline_is_not_refilling() -> None:
    """Throttled at the baseline, the measured load is a hair under it and a forecast from it
    says the budget refills: at 1% left that is the throttle, not a refill."""
    held = BudgetEstimate("p", NOW, Tier.MICRO, 0.01, -0.1, None, 1.0, 10.9, refills=True)
    assert not refilling(held)
    clearly_under = BudgetEstimate("p", NOW, Tier.MICRO, 0.01, -8.0, None, 1.0, 3.0)
    assert refilling(clearly_under)
    higher = BudgetEstimate("p", NOW, Tier.MICRO, 0.4, -0.1, None, 1.0, 10.9, refills=True)
    assert refilling(higher)


def test_the_latest_load_at_the_baseline_says_held_while_the_average_lags() -> None:
    """After a restart the smoothed load still carries the quiet hours before the throttle;
    the last interval's load at the baseline already says the budget is held, not refilling."""
    lagging = BudgetEstimate("p", NOW, Tier.MICRO, 0.01, -4.0, None, 1.0, 11.0)
    assert not refilling(lagging)


def test_io_operations_held_at_their_baseline_are_not_refilling() -> None:
    """800 small reads a second asked, 3 MB/s: the IO operations balance is empty and held at
    micro's 500 IOPS. The bytes are far under their baseline, yet nothing earns back."""
    held = BudgetEstimate(
        "p", NOW, Tier.MICRO, 0.0, -8.0, None, 1.0, 3.0, iops=500.0, limited_by="iops"
    )
    assert not refilling(held)
    eased = BudgetEstimate(
        "p", NOW, Tier.MICRO, 0.0, -8.0, None, 1.0, 3.0, iops=100.0, limited_by="iops"
    )
    assert refilling(eased)
