"""Table tests of the simulator's disk IO model (the ground truth)."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from sbwatch.sim.hardware import BURST_BALANCE_S, machine
from sbwatch.sim.model import (
    BASE_LATENCY_S,
    DATA_DEVICE,
    DEFAULT_OP_BYTES,
    FAIL_LATENCY_S,
    QUEUE_BUILD_S,
    ROOT_DEVICE,
    ROOT_SHARE,
    SLOW_S_PER_EXCESS,
    DiskIoModel,
)


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
    assert pytest.approx(model.read_bytes_total / DEFAULT_OP_BYTES) == model.reads_completed_total


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
    assert pytest.approx(many.cpu.iowait) == one.cpu.iowait
    assert pytest.approx(many.queue_s) == one.queue_s
    assert pytest.approx(many.failing_seconds_total) == one.failing_seconds_total


def test_set_tier_gives_a_full_bucket_and_restarts_the_counters() -> None:
    """A tier change reboots the instance: full balances, its own baseline, counters at 0."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(40.0, 0.0)
    model.advance(600.0)
    assert model.read_bytes_total > 0
    model.set_tier("small")
    assert ("small", 1.0, False, 1) == (
        model.tier,
        model.budget_ratio,
        model.failing("rest"),
        model.restarts,
    )
    assert (0.0, 0.0) == (model.read_bytes_total, model.cpu.total)
    assert 40.0 == model.actual_read_mbps


def test_4xl_has_no_budget() -> None:
    """4XL has no burst budget: always full, never throttled, never slow."""
    model = DiskIoModel("4xl", budget_pct=0.0)
    model.set_demand(594.0, 0.0)
    model.advance(86_400.0)
    assert (1.0, 594.0, False) == (model.budget_ratio, model.actual_read_mbps, model.throttled)
    assert BASE_LATENCY_S == model.latency_s("rest")


def test_iowait_rises_when_throttled() -> None:
    """CPU time goes to iowait when demand is held down at the baseline."""
    calm, starved = DiskIoModel("micro"), DiskIoModel("micro", budget_pct=0.0)
    for model in (calm, starved):
        model.set_demand(10.0 if model is calm else 40.0, 0.0)
        model.advance(600.0)
    assert calm.cpu.iowait < 0.05 * calm.cpu.total
    assert starved.cpu.iowait > 0.5 * starved.cpu.total
    assert 2 * 600.0 == pytest.approx(starved.cpu.total)


def test_true_limits_above_the_table_scale_baseline_burst_and_balance() -> None:
    """true_limits_factor 1.2: 20% more baseline and burst than the machine table, both balances."""
    model = DiskIoModel("micro", true_limits_factor=1.2)
    assert pytest.approx(11.0 * 1.2) == model.limits["baseline_mbps"]
    assert pytest.approx(261.0 * 1.2) == model.limits["burst_mbps"]
    assert pytest.approx(500 * 1.2) == model.limits["baseline_iops"]
    model.set_demand(13.0, 0.0)  # over the published 11 MB/s, under the true 13.2
    model.advance(86_400.0)
    assert 1.0 == model.budget_ratio
    model.set_demand(15.0, 0.0)
    model.advance(3600.0)
    drained = (15.0 - 13.2) * 3600 / ((261.0 - 11.0) * 1.2 * BURST_BALANCE_S)
    assert pytest.approx(1 - drained) == model.budget_ratio


def test_a_factor_below_one_is_refused() -> None:
    """The published limits are minimums: true limits below them are not a world we model."""
    with pytest.raises(ValueError, match=r"1\.0 or more"):
        DiskIoModel("micro", true_limits_factor=0.9)


def test_small_random_reads_exhaust_the_iops_balance_while_mb_stay_low() -> None:
    """3000 small reads a second (2 MB/s) on micro: the bytes never drain, the IOPS do."""
    model = DiskIoModel("micro")
    model.set_demand(2.0, 0.0, read_iops=3000.0)
    model.advance(3600.0)
    ops_capacity = (11_800 - 500) * BURST_BALANCE_S
    assert 1.0 == model.bytes_balance.ratio
    assert pytest.approx(1 - 2500 * 3600 / ops_capacity) == model.budget_ratio
    assert pytest.approx(3000 * 3600) == model.reads_completed_total
    model.advance(ops_capacity / 2500)  # the IOPS balance runs dry: held at 500 IOPS
    assert 0.0 == model.budget_ratio
    assert pytest.approx(500.0) == model.actual_iops
    assert pytest.approx(2.0 * 500 / 3000) == model.actual_read_mbps
    assert model.throttled


def test_two_disks_share_the_io_and_one_budget() -> None:
    """Root (with swap) takes ROOT_SHARE of every byte and operation, /data the rest."""
    model = DiskIoModel("micro")
    model.set_demand(10.0, 5.0)
    model.advance(120.0)
    root, data = model.disks[ROOT_DEVICE], model.disks[DATA_DEVICE]
    assert pytest.approx(15e6 * 120 * ROOT_SHARE) == root.read_bytes + root.written_bytes
    assert pytest.approx(15e6 * 120 * (1 - ROOT_SHARE)) == data.read_bytes + data.written_bytes
    assert pytest.approx(15e6 * 120) == model.read_bytes_total + model.written_bytes_total


@pytest.mark.parametrize(("phase", "seconds", "published_at"), [(0, 90, 60), (0, 59, 0),
                         (30, 40, 30), (0, 120, 120)])  # fmt: skip
def test_published_values_are_frozen_at_the_last_whole_minute(
    phase: float, seconds: float, published_at: float
) -> None:
    """The endpoint's values change once a minute: a faster scrape repeats the sample."""
    model = DiskIoModel("micro", minute_phase_s=phase)
    model.set_demand(10.0, 0.0)
    model.advance(seconds)
    published = model.published.disks[DATA_DEVICE].read_bytes / (1 - ROOT_SHARE)
    assert pytest.approx(10e6 * published_at) == published


def test_published_values_after_a_resize_restart_from_zero() -> None:
    """The first reading after a tier change counts from 0: the counters went back."""
    model = DiskIoModel("micro")
    model.set_demand(10.0, 0.0)
    model.advance(600.0)
    before = model.published.disks[DATA_DEVICE].read_bytes
    model.set_tier("small")
    model.advance(30.0)
    assert before == model.published.disks[DATA_DEVICE].read_bytes  # not a whole minute yet
    model.advance(30.0)
    assert (
        pytest.approx(10e6 * 60 * (1 - ROOT_SHARE)) == model.published.disks[DATA_DEVICE].read_bytes
    )


def test_throttled_latency_grows_with_demand_over_capacity() -> None:
    """With the balance empty, the delay tends to SLOW_S_PER_EXCESS per unit of excess demand."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(13.2, 0.0)  # 1.2x the baseline
    model.advance(60.0)
    early = model.latency_s("rest")
    model.advance(6 * 3600.0)
    steady = BASE_LATENCY_S + SLOW_S_PER_EXCESS * 0.2
    assert BASE_LATENCY_S < early < steady
    assert pytest.approx(steady, rel=1e-6) == model.latency_s("rest")
    assert (False, False) == (model.failing("rest"), model.failing("db"))
    assert model.latency_s("auth") < model.latency_s("rest")


@pytest.mark.parametrize(("demand", "fails"), [(11.0, False), (14.0, False), (21.0, False),
                         (23.0, True), (40.0, True)])  # fmt: skip
def test_requests_fail_once_they_would_pass_twenty_seconds(demand: float, fails: bool) -> None:
    """Services slow down first; they fail only where the delay would reach FAIL_LATENCY_S."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(demand, 0.0)
    model.advance(4 * 3600.0)
    assert fails == model.failing("rest")
    assert fails == (model.latency_s("rest") >= FAIL_LATENCY_S)
    assert fails == (model.failing_seconds_total > 0)


def test_the_failure_starts_when_the_queue_crosses_the_threshold() -> None:
    """At 3.6x the baseline the queue reaches 20 s after QUEUE_BUILD_S x ln(target/(target-20))."""
    model = DiskIoModel("micro", budget_pct=0.0)
    model.set_demand(39.6, 0.0)
    target = SLOW_S_PER_EXCESS * (39.6 / 11.0 - 1)
    crossing = -QUEUE_BUILD_S * math.log(1 - (FAIL_LATENCY_S - BASE_LATENCY_S) / target)
    model.advance(crossing - 1.0)
    assert not model.failing("rest")
    model.advance(601.0)
    assert model.failing("rest")
    assert pytest.approx(600.0, abs=1e-6) == model.failing_seconds_total
    model.set_demand(5.0, 0.0)
    model.advance(600.0)
    assert (False, False) == (model.failing("rest"), model.throttled)


def test_publishing_every_change_at_once() -> None:
    """publish_every_s = 0: the published reading follows every advance and every restart."""
    model = DiskIoModel("micro", publish_every_s=0)
    model.set_demand(10.0, 0.0)
    model.advance(7.0)
    assert pytest.approx(10e6 * 7) == sum(d.read_bytes for d in model.published.disks.values())
    model.set_tier("small")
    assert 0.0 == sum(d.read_bytes for d in model.published.disks.values())


def test_published_counters_are_copies_of_every_field() -> None:
    """A published reading holds copies equal to the live counters, field by field."""
    model = DiskIoModel("small", publish_every_s=0)
    model.set_demand(30.0, 10.0)
    model.advance(90.0)
    for device in (ROOT_DEVICE, DATA_DEVICE):
        assert replace(model.disks[device]) == model.published.disks[device]
        assert model.disks[device] is not model.published.disks[device]
    assert replace(model.cpu) == model.published.cpu
    assert model.cpu is not model.published.cpu
