"""Table tests of the simulator's disk IO model (the ground truth)."""

from __future__ import annotations

import pytest

from sbwatch.sim.hardware import BURST_BALANCE_S, machine
from sbwatch.sim.model import OP_BYTES, DiskIoModel


def baseline(size: str) -> float:
    """The machine's sustained disk throughput, MB/s."""
    return machine(size).sustained_bytes_s / 1e6


def capacity_mb(size: str) -> float:
    """The machine's burst balance in MB."""
    return (machine(size).burst_bytes_s / 1e6 - baseline(size)) * BURST_BALANCE_S


@pytest.mark.parametrize("tier", ["nano", "micro", "small", "large", "2xl"])
def test_demand_at_or_under_baseline_never_drains(tier: str) -> None:
    """Demand at or under the baseline leaves a full bucket full, for days."""
    model = DiskIoModel(tier)
    model.set_demand(baseline(tier) * 0.6, baseline(tier) * 0.4)
    model.advance(5 * 86_400)
    assert 1.0 == model.budget_ratio


@pytest.mark.parametrize(
    ("tier", "demand", "seconds", "expected_ratio"),
    [
        # drain = demand - baseline per second, against (max - baseline) x 1800 MB
        ("micro", 15.0, 3600.0, 1 - 4 * 3600 / (250 * 1800)),
        ("small", 30.0, 7200.0, 1 - 8 * 7200 / (239 * 1800)),
        ("medium", 100.0, 1800.0, 1 - 61 * 1800 / (222 * 1800)),
        ("large", 300.0, 600.0, 1 - 221 * 600 / (515 * 1800)),
        ("xl", 594.0, 900.0, 1 - 445 * 900 / (445 * 1800)),
    ],
)
def test_drain_speed_per_tier(
    tier: str, demand: float, seconds: float, expected_ratio: float
) -> None:
    """Above the baseline the bucket drains at demand minus baseline."""
    model = DiskIoModel(tier)
    model.set_demand(demand, 0.0)
    model.advance(seconds)
    assert expected_ratio == pytest.approx(model.budget_ratio, rel=1e-9)


def test_demand_above_max_is_capped_and_drains_at_max() -> None:
    """Throughput is capped at the tier maximum, and the bucket drains at max - baseline."""
    model = DiskIoModel("micro")
    model.set_demand(1000.0, 0.0)
    model.advance(60.0)
    assert 261.0 == model.actual_read_mbps
    assert pytest.approx(1 - 250 * 60 / capacity_mb("micro")) == model.budget_ratio


def test_refill_at_headroom_under_baseline() -> None:
    """Under the baseline the bucket earns the headroom and stops at full."""
    model = DiskIoModel("micro", budget_pct=50.0)
    model.set_demand(1.0, 0.0)
    model.advance(3600.0)
    assert pytest.approx(0.5 + 10 * 3600 / capacity_mb("micro")) == model.budget_ratio
    model.advance(86_400.0)
    assert 1.0 == model.budget_ratio


def test_empty_bucket_throttles_to_baseline() -> None:
    """Once empty, throughput drops to the baseline, exactly at the emptying instant."""
    model = DiskIoModel("micro", budget_pct=1.0)
    model.set_demand(30.0, 10.0)
    to_empty = 0.01 * capacity_mb("micro") / (40.0 - 11.0)
    model.advance(to_empty + 100.0)
    assert 0.0 == model.budget_ratio
    assert pytest.approx(11.0) == model.actual_read_mbps + model.actual_write_mbps
    assert pytest.approx(11.0 * 0.75) == model.actual_read_mbps
    expected_bytes = (40.0 * to_empty + 11.0 * 100.0) * 1e6
    total = model.read_bytes_total + model.written_bytes_total
    assert pytest.approx(expected_bytes) == total
    assert pytest.approx(model.read_bytes_total / OP_BYTES) == model.reads_completed_total


def test_one_long_advance_equals_many_short_ones() -> None:
    """Integration is exact: one step of a day equals 1440 steps of a minute."""
    one, many = DiskIoModel("micro", 30.0), DiskIoModel("micro", 30.0)
    for model in (one, many):
        model.set_demand(20.0, 5.0)
    one.advance(86_400.0)
    for _ in range(1440):
        many.advance(60.0)
    assert pytest.approx(many.budget_ratio, abs=1e-9) == one.budget_ratio
    assert pytest.approx(many.read_bytes_total) == one.read_bytes_total
    assert pytest.approx(many.iowait_seconds_total) == one.iowait_seconds_total


def test_set_tier_gives_a_full_bucket() -> None:
    """A tier change starts the new tier with a full bucket and its own baseline."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(40.0, 0.0)
    model.advance(600.0)
    model.set_tier("small")
    assert ("small", 1.0, False) == (model.tier, model.budget_ratio, model.overloaded)
    assert 40.0 == model.actual_read_mbps


@pytest.mark.parametrize(
    ("demand", "seconds", "expected"),
    [
        (22.0, 179.0, False),  # 2x baseline, not yet three minutes
        (22.0, 180.0, True),  # 2x baseline for three minutes
        (21.9, 3600.0, False),  # just under 2x baseline: throttled but serving
        (40.0, 181.0, True),
    ],
)
def test_overloaded_after_three_minutes_at_twice_baseline(
    demand: float, seconds: float, expected: bool
) -> None:
    """Empty bucket and demand >= 2x baseline for 3 minutes means overloaded."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(demand, 0.0)
    model.advance(seconds)
    assert expected == model.overloaded


def test_overload_counts_from_the_moment_the_bucket_empties() -> None:
    """The three minutes start when the bucket runs dry, not when the demand started."""
    model = DiskIoModel("micro", budget_pct=0.1)
    model.set_demand(30.0, 0.0)
    to_empty = 0.001 * capacity_mb("micro") / 19.0
    model.advance(to_empty + 179.0)
    assert False is model.overloaded
    model.advance(1.0)
    assert True is model.overloaded
    model.set_demand(5.0, 0.0)
    assert False is model.overloaded


def test_4xl_has_no_budget() -> None:
    """4XL has no burst budget: always full, never throttled, never overloaded."""
    model = DiskIoModel("4xl", budget_pct=0.0)
    model.set_demand(2000.0, 0.0)
    model.advance(86_400.0)
    assert (1.0, 594.0, False) == (model.budget_ratio, model.actual_read_mbps, model.overloaded)


def test_iowait_rises_when_throttled() -> None:
    """CPU time goes to iowait when demand is held down at the baseline."""
    calm, starved = DiskIoModel("micro"), DiskIoModel("micro", budget_pct=0.0)
    for model in (calm, starved):
        model.set_demand(10.0 if model is calm else 40.0, 0.0)
        model.advance(600.0)
    assert calm.iowait_seconds_total < 0.05 * calm.cpu_seconds_total
    assert starved.iowait_seconds_total > 0.5 * starved.cpu_seconds_total
    assert 2 * 600.0 == pytest.approx(starved.cpu_seconds_total)
