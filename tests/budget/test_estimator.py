"""Table tests of the budget estimator: drain, refill, resets, gaps, corrections, forecast."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sbwatch.config.settings import BudgetSettings, TierLimits
from sbwatch.core.results import BudgetEstimate, IoSample, Severity
from sbwatch.core.tiers import BURST_SECONDS_PER_DAY, Tier, spec
from sbwatch.policy.budget import BudgetEstimator, budget_severity, used_up_now

from .conftest import Feed, FeedFactory

BURST_TIERS = [Tier.MICRO, Tier.SMALL, Tier.MEDIUM, Tier.LARGE, Tier.XL, Tier.XL2]


def capacity_mb(tier: Tier) -> float:
    """The throughput bucket of a tier, MB."""
    s = spec(tier)
    return (s.max_mbps - s.baseline_mbps) * BURST_SECONDS_PER_DAY


@pytest.mark.parametrize("tier", BURST_TIERS)
def test_steady_load_under_baseline_never_drains(tier: Tier, feed: FeedFactory) -> None:
    """A day at 90% of the baseline leaves a full budget and no ETA."""
    f = feed(BudgetEstimator("p", tier))
    est = f.run(0.9 * spec(tier).baseline_mbps, 24 * 3600)
    assert 1.0 == est.ratio
    assert est.eta_s is None
    assert all(e.ratio == 1.0 for e in f.history)


@pytest.mark.parametrize("tier", BURST_TIERS)
def test_load_above_baseline_drains_at_the_excess(tier: Tier, feed: FeedFactory) -> None:
    """One hour at baseline + 10 MB/s drains 36,000 MB and forecasts at a 10 MB/s burn."""
    f = feed(BudgetEstimator("p", tier))
    est = f.run(spec(tier).baseline_mbps + 10, 3600)
    expected_ratio = 1 - 36_000 / capacity_mb(tier)
    assert expected_ratio == pytest.approx(est.ratio, abs=1e-9)
    assert 10.0 == pytest.approx(est.burn_mbps, rel=1e-6)
    assert expected_ratio * capacity_mb(tier) / 10 == pytest.approx(est.eta_s, rel=1e-6)


@pytest.mark.parametrize("tier", BURST_TIERS)
def test_full_burst_empties_in_thirty_minutes(tier: Tier, feed: FeedFactory) -> None:
    """At the tier maximum the full bucket lasts BURST_SECONDS_PER_DAY, then reads 0."""
    f = feed(BudgetEstimator("p", tier))
    assert 0.5 == pytest.approx(f.run(spec(tier).max_mbps, 900).ratio, abs=1e-9)
    assert 0.0 == f.run(spec(tier).max_mbps, 900).ratio


def test_refill_below_baseline(feed: FeedFactory) -> None:
    """An idle hour on micro refills 11 MB/s x 3600 s into a half-empty bucket."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.5))
    est = f.run(0.0, 3600)
    assert 0.5 + 11 * 3600 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)
    assert est.eta_s is None
    assert -11.0 == pytest.approx(est.burn_mbps)


def test_refill_stops_at_full(feed: FeedFactory) -> None:
    """Refill never goes past a full bucket."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.99))
    assert 1.0 == f.run(0.0, 24 * 3600).ratio


def test_throttled_at_baseline_once_empty(feed: FeedFactory) -> None:
    """Once empty, IO held at the baseline keeps it at 0 with no time left to wait for."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.01))
    f.run(261, 600)
    est = f.run(11, 1800)
    assert 0.0 == est.ratio
    assert est.eta_s in (None, 0.0)


@pytest.mark.parametrize("tier", [Tier.XL4, Tier.XL8])
def test_sizes_without_a_budget_always_read_full(tier: Tier, feed: FeedFactory) -> None:
    """4xl and up have no burst budget: ratio 1 and no ETA even at their maximum."""
    f = feed(BudgetEstimator("p", tier))
    est = f.run(spec(tier).max_mbps, 3600)
    assert (1.0, None) == (est.ratio, est.eta_s)


def test_tier_change_starts_a_full_bucket(feed: FeedFactory) -> None:
    """After a resize the new tier starts full, and drains against its own baseline."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(261, 1500)
    resize_at = f.t + timedelta(seconds=30)
    f.estimator.set_tier(Tier.SMALL, resize_at)
    assert f.estimator.estimate is not None
    assert (Tier.SMALL, 1.0) == (f.estimator.estimate.tier, f.estimator.estimate.ratio)
    est = f.run(32, 60)  # only the 30 s after the resize count: 10 MB/s over small's 22
    assert 1 - 300 / capacity_mb(Tier.SMALL) == pytest.approx(est.ratio, abs=1e-9)
    est = f.run(32, 3600)
    assert 1 - 36_300 / capacity_mb(Tier.SMALL) == pytest.approx(est.ratio, abs=1e-9)


def test_counter_reset_invents_no_drain(feed: FeedFactory) -> None:
    """Counters going down (a restart) rebaseline; only one interval of the last burn is assumed."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    before = f.run(21, 3600).ratio  # 10 MB/s above baseline
    f.t += timedelta(seconds=60)
    f.bytes_total = f.ops_total = 0.0
    after_reset = f.sample().ratio
    assert before - 600 / capacity_mb(Tier.MICRO) == pytest.approx(after_reset, abs=1e-9)
    est = f.run(21, 600)
    assert after_reset - 6_000 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)


def test_long_gap_with_counters_applies_the_measured_io(feed: FeedFactory) -> None:
    """A two-hour scrape gap uses the IO the counters measured, and restarts the confidence."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(21, 3600)
    confident = f.history[-1].confidence
    f.advance(21, 7200)
    est = f.sample()
    assert 1 - 10 * 3 * 3600 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)
    assert est.confidence < confident
    assert not est.load_known, "the gap's average is not the load now"
    assert est.eta_s is not None  # a drain at the gap's average is forecast all the same
    f.advance(5, 60)
    assert f.sample().load_known


def test_gap_ending_in_a_counter_reset_caps_the_assumed_burn(feed: FeedFactory) -> None:
    """Across a gap with a reset, the last burn is assumed for at most max_gap_s."""
    f = feed(BudgetEstimator("p", Tier.MICRO, max_gap_s=900))
    before = f.run(21, 3600).ratio
    f.t += timedelta(hours=5)
    f.bytes_total = f.ops_total = 0.0
    est = f.sample()
    assert before - 10 * 900 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)


def test_implausible_jump_is_treated_as_a_reset(feed: FeedFactory) -> None:
    """A counter jump no disk could do (device switch) drains nothing extra."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(11, 600)
    f.bytes_total += 10**15
    f.t += timedelta(seconds=60)
    assert 1.0 == f.sample().ratio


def test_correction_sets_the_ratio_and_drain_continues(feed: FeedFactory) -> None:
    """A dashboard reading of 30% consumed sets 0.70; drain continues from there."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(21, 600)
    f.estimator.correct(30.0, f.t)
    assert f.estimator.estimate is not None
    assert 0.70 == pytest.approx(f.estimator.estimate.ratio)
    est = f.run(21, 3600)
    assert 0.70 - 36_000 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)


def test_correction_from_the_future_counts_only_later_io(feed: FeedFactory) -> None:
    """IO before the correction's time does not count against it."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(21, 600)
    f.estimator.correct(50.0, f.t + timedelta(seconds=45))
    est = f.run(21, 60)
    assert 0.5 - 150 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-9)


def test_iops_bucket_can_be_the_limit(feed: FeedFactory) -> None:
    """Small-block IO drains the IOPS bucket while throughput stays under baseline."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    est = f.run(5, 3600, iops=5_500)  # 5,000 IOPS above micro's 500
    ops_capacity = (11_800 - 500) * BURST_SECONDS_PER_DAY
    assert 1 - 5_000 * 3600 / ops_capacity == pytest.approx(est.ratio, abs=1e-9)
    assert est.eta_s is not None
    assert "iops" == est.limited_by
    assert "throughput" == feed(BudgetEstimator("p", Tier.MICRO)).run(30, 600).limited_by


def test_a_first_reading_of_the_dashboard_sets_both_balances(feed: FeedFactory) -> None:
    """A reading of 10% consumed at first start: either balance may be the one read, so IOPS
    are at 90% too, and small-block IO drains them from there (left at 100%, an hour late on
    micro at 1,050 IOPS); once the balances differ, the lower one reads the figure."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.estimator.correct(10.0, f.t)
    ops_capacity = (11_800 - 500) * BURST_SECONDS_PER_DAY
    est = f.run(5, 3600, iops=1_050)
    assert "iops" == est.limited_by
    assert 0.9 - 550 * 3600 / ops_capacity == pytest.approx(est.ratio, abs=1e-9)
    f.estimator.correct(20.0, f.t)  # the IOPS balance is the lower: it reads the figure
    later = f.run(5, 60, iops=1_050)
    assert "iops" == later.limited_by
    assert 0.8 - 550 * 60 / ops_capacity == pytest.approx(later.ratio, abs=1e-9)


def test_forecast_follows_a_step_within_minutes(feed: FeedFactory) -> None:
    """After a night of refill, a step to 15 MB/s on micro gives the 4 MB/s burn in 30 minutes."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.8))
    f.run(8, 6 * 3600)
    est = f.run(15, 1800)
    assert 4.0 == pytest.approx(est.burn_mbps, rel=0.01)
    assert est.ratio * capacity_mb(Tier.MICRO) / 4.0 == pytest.approx(est.eta_s, rel=0.01)


def test_a_ten_minute_spike_on_a_full_budget_is_no_forecast(feed: FeedFactory) -> None:
    """140 MB/s for ten minutes on a full micro: no time to empty while it lasts, and none once
    it is over; the same load going on is forecast before half its time to empty has passed."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(3, 3600)
    during = [f.run(140, 60) for _ in range(10)]
    assert [None] * 10 == [e.eta_s for e in during]
    assert during[-1].eta_now_s is not None  # the raw figure is still there to read
    assert None is f.run(3, 120).eta_s
    g = feed(BudgetEstimator("p", Tier.MICRO))
    g.run(3, 3600)
    steady = [g.run(140, 60) for _ in range(40)]
    first = next(i for i, e in enumerate(steady) if e.eta_s is not None)
    eta = steady[first].eta_s
    assert eta is not None
    assert (first + 1) * 60 < eta


def test_single_minute_spike_barely_moves_the_forecast(feed: FeedFactory) -> None:
    """One minute 85 MB/s over a steady load moves the burn by under 3 MB/s."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    f.run(15, 3600)
    f.run(100, 60)
    est = f.run(15, 60)
    assert 4.0 == pytest.approx(est.burn_mbps, abs=3.0)


def test_confidence_grows_with_observation(feed: FeedFactory) -> None:
    """No confidence at first; more after an hour of steady load; full once pinned by a reading."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    first = f.sample().confidence
    hour = f.run(15, 3600).confidence
    f.estimator.correct(20.0, f.t)
    pinned = f.run(15, 600).confidence
    assert 0.0 == first
    assert 0.0 < hour < pinned <= 1.0


def test_out_of_order_sample_is_ignored(feed: FeedFactory) -> None:
    """A sample older than the last one changes nothing."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    est = f.run(21, 600)
    stale = IoSample(f.t - timedelta(minutes=5), 0.0, 0.0, 0.0, 0.0)
    assert est == f.estimator.update(stale)


def test_state_round_trip_resumes_identically(feed: FeedFactory) -> None:
    """A snapshot through JSON resumes with the same estimates as the original."""
    f = feed(BudgetEstimator("p", Tier.SMALL, ratio=0.6))
    f.run(40, 1800)
    f.estimator.set_tier(Tier.MEDIUM, f.t)
    f.run(60, 600)
    clone = BudgetEstimator.from_state(json.loads(json.dumps(f.estimator.to_state())))
    assert f.estimator.estimate == clone.estimate
    assert clone.estimate is not None
    g = type(f)(clone, t=f.t, bytes_total=f.bytes_total, ops_total=f.ops_total)
    g.history.append(clone.estimate)
    assert f.run(80, 1800) == g.run(80, 1800)


def test_estimate_is_none_before_any_sample() -> None:
    """A fresh estimator has no estimate yet."""
    assert BudgetEstimator("p", Tier.MICRO).estimate is None


def test_a_repeated_reading_is_not_an_idle_disk(feed: FeedFactory) -> None:
    """Scraped every 30 s, a once-a-minute endpoint repeats itself: that is no zero rate."""
    every_minute = feed(BudgetEstimator("p", Tier.MICRO))
    every_minute.run(31, 1800)
    twice_a_minute = feed(BudgetEstimator("p", Tier.MICRO))
    twice_a_minute.sample()
    for _ in range(30):  # the counters move once a minute; each reading is scraped twice
        twice_a_minute.advance(31, 60)
        twice_a_minute.sample()
        twice_a_minute.t += timedelta(seconds=30)
        twice_a_minute.sample()  # half a minute later the endpoint still shows the same values
        twice_a_minute.t -= timedelta(seconds=30)
    expected = every_minute.history[-1]
    got = twice_a_minute.history[-1]
    assert expected.ratio == pytest.approx(got.ratio, abs=1e-6)
    assert expected.eta_s == pytest.approx(got.eta_s, rel=1e-6)


def test_counters_unchanged_for_minutes_are_an_idle_disk(feed: FeedFactory) -> None:
    """Past the repeat window, unchanged counters mean no IO: the budget refills."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.5))
    f.sample()
    f.t += timedelta(minutes=10)
    est = f.sample()
    assert 0.5 + 11 * 600 / capacity_mb(Tier.MICRO) == pytest.approx(est.ratio, abs=1e-6)


def day_night(f: Feed, day_mbps: float, night_mbps: float, days: int) -> list[BudgetEstimate]:
    """Twelve hours at ``day_mbps`` then twelve at ``night_mbps``, sampled every 5 minutes."""
    start = len(f.history)
    for half in range(days * 2):
        f.run(night_mbps if half % 2 else day_mbps, 43_200, step_s=300)
    return f.history[start:]


def test_a_daily_refill_is_not_at_risk_every_morning(feed: FeedFactory) -> None:
    """Busy days, quiet nights that refill: once a day is learned, mornings do not cry wolf."""
    f = feed(BudgetEstimator("p", Tier.MICRO, ratio=0.6))
    seen = day_night(f, 14.0, 7.0, 4)
    later = seen[len(seen) // 2 :]
    assert all(e.basis == "pattern" for e in later)
    assert all(e.eta_s is None and e.refills for e in later)
    assert any(e.eta_now_s is not None for e in later)  # the current rate alone would warn
    assert all(budget_severity(e, BudgetSettings()) is None for e in later)


def test_a_slow_drain_warns_two_days_ahead_at_the_pattern(feed: FeedFactory) -> None:
    """A day/night load that loses a little every day is warned of days before it runs out."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    seen = day_night(f, 15.0, 8.0, 9)
    learned = [(i, e) for i, e in enumerate(seen) if e.basis == "pattern"]
    first = next(i for i, e in learned if budget_severity(e, BudgetSettings()))
    empty = next(i for i, e in enumerate(seen) if e.ratio <= 0.01)
    assert learned[0][0] < first  # learned first, quiet while the end was far
    assert (empty - first) * 300 >= 2 * 86_400


def test_a_burst_is_forecast_at_the_current_rate(feed: FeedFactory) -> None:
    """A load far above the hour's usual is assumed to go on: the forecast uses it."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    day_night(f, 12.0, 8.0, 2)
    est = f.run(60.0, 1800, step_s=300)
    assert "burst" == est.basis
    assert est.eta_s == pytest.approx(est.eta_now_s)


def test_io_flat_above_the_published_baseline_teaches_the_real_one(feed: FeedFactory) -> None:
    """Used up, yet 14 MB/s for 15 minutes on micro (published 11): 14 is the real baseline."""
    est = BudgetEstimator("p", Tier.MICRO, ratio=0.0)
    f = feed(est)
    f.run(14.0, 1200, step_s=60)
    assert {"micro": pytest.approx(14.0)} == est.learned
    assert 14.0 == pytest.approx(est.limits(Tier.MICRO).baseline_mbps)
    assert f.run(14.0, 600, step_s=60).eta_s is None  # at its real baseline it does not drain
    restored = BudgetEstimator.from_state(json.loads(json.dumps(est.to_state())))
    assert est.learned == restored.learned


def test_io_flat_above_the_baseline_without_waiting_teaches_nothing(feed: FeedFactory) -> None:
    """The estimate is empty, yet 14 MB/s flows on micro with the disks not waited on (iowait
    2%): the true budget is bigger than the published one and not spent, nothing is learned.
    Once the disks are waited on at that level (iowait 60%), it is the real baseline."""
    est = BudgetEstimator("p", Tier.MICRO, ratio=0.0)
    f = feed(est)
    f.iowait = 0.02
    f.run(14.0, 1800, step_s=60)
    assert {} == est.learned
    f.iowait = 0.6
    f.run(14.0, 1200, step_s=60)
    assert {"micro": pytest.approx(14.0)} == est.learned


def test_an_estimate_run_out_while_the_disks_serve_above_the_baseline_is_overdrawn(
    feed: FeedFactory,
) -> None:
    """30 MB/s on micro, 5% left, the disks not waited on: the estimate runs out within the
    hour, yet the disks go on serving 30 MB/s. The true budget is not spent (the published
    limits are minimums): no "used up", no forecast, nothing to raise. Once the disks are
    waited on, it is the estimate's word again."""
    est = BudgetEstimator("p", Tier.MICRO, ratio=0.05)
    f = feed(est)
    f.iowait = 0.02
    before = f.run(30.0, 300, step_s=60)
    assert (False, True) == (before.overdrawn, before.ratio > 0.01)
    after = f.run(30.0, 1800, step_s=60)
    assert (True, None, None) == (after.overdrawn, after.eta_s, after.eta_now_s)
    assert after.ratio <= 0.01
    assert Severity.WARNING == budget_severity(after, BudgetSettings())
    assert not used_up_now(after)
    restored = BudgetEstimator.from_state(json.loads(json.dumps(est.to_state())))
    assert restored.estimate is not None
    assert restored.estimate.overdrawn
    f.iowait = 0.6
    held = f.run(30.0, 120, step_s=60)
    assert (False, True) == (held.overdrawn, used_up_now(held))
    f.iowait = 0.02
    assert f.run(30.0, 300, step_s=60).overdrawn
    at_baseline = f.run(11.0, 120, step_s=60)  # held at the baseline, the disks not waited on
    assert (False, True) == (at_baseline.overdrawn, used_up_now(at_baseline))


def test_an_iops_estimate_run_out_while_the_disks_serve_above_its_baseline_is_overdrawn(
    feed: FeedFactory,
) -> None:
    """942 IOPS on micro (500 published) at 7.7 MB/s, the disks not waited on, for hours after
    the IOPS estimate ran out: the true IOPS balance is not spent (overdrawn, not used up);
    held at 500 IOPS, it is."""
    est = BudgetEstimator("p", Tier.MICRO, ratio=0.02)
    f = feed(est)
    f.iowait = 0.02
    served = f.run(7.7, 3600, step_s=60, iops=942)
    assert ("iops", True, False) == (served.limited_by, served.overdrawn, used_up_now(served))
    held = f.run(7.7, 300, step_s=60, iops=500)
    assert (False, True) == (held.overdrawn, used_up_now(held))


def test_at_a_learned_baseline_an_empty_budget_stays_empty(feed: FeedFactory) -> None:
    """Held at 13.8 MB/s after 14 was learned (within the margin): the empty budget does not
    creep back up from the mean's rounding."""
    est = BudgetEstimator("p", Tier.MICRO, ratio=0.0)
    f = feed(est)
    f.iowait = 0.6
    f.run(14.0, 1200, step_s=60)
    held = f.run(13.8, 6 * 3600, step_s=60)
    assert held.ratio <= 0.001
    assert 0.5 < f.run(2.0, 6 * 3600, step_s=60).ratio  # a real drop still refills


def test_configured_limits_replace_the_published(feed: FeedFactory) -> None:
    """`[projects.budget.limits.micro] baseline_mbps = 15`: 15 MB/s no longer drains micro."""
    est = BudgetEstimator("p", Tier.MICRO)
    est.configure({Tier.MICRO: TierLimits(baseline_mbps=15.0)})
    assert 15.0 == est.limits(Tier.MICRO).baseline_mbps
    assert 1.0 == feed(est).run(15.0, 3600).ratio


def test_a_level_never_read_is_assumed_until_something_pins_it(feed: FeedFactory) -> None:
    """At first start the level is assumed full and said so; a day's drain does not pin it
    (the true level could have been lower all along), a correction does, and so does a resize
    (a new size starts full); the estimator's saved state keeps what it knows."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    est = f.run(spec(Tier.MICRO).baseline_mbps + 5, 3600)
    assert est.assumed
    again = BudgetEstimator.from_state(f.estimator.to_state())
    assert again.estimate is not None
    assert again.estimate.assumed
    f.estimator.correct(40.0, est.at)
    assert f.estimator.estimate is not None
    assert not f.estimator.estimate.assumed
    resized = feed(BudgetEstimator("q", Tier.MICRO))
    first = resized.run(spec(Tier.MICRO).baseline_mbps + 5, 600)
    resized.estimator.set_tier(Tier.SMALL, first.at)
    assert not resized.run(spec(Tier.SMALL).baseline_mbps + 5, 600).assumed


def test_a_refill_long_enough_to_fill_any_level_pins_it(feed: FeedFactory) -> None:
    """Idle for a day and a half on micro: whatever the level was, it is full now."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    assert not f.run(0.0, 36 * 3600).assumed


def test_a_load_holding_one_level_is_flat_and_its_drain_dated(feed: FeedFactory) -> None:
    """13 MB/s on micro for two hours: flat, draining for those two hours. The same mean
    swinging between 9 and 17 MB/s minute by minute is no level: not flat."""
    f = feed(BudgetEstimator("p", Tier.MICRO))
    est = f.run(13.0, 7200)
    assert est.flat
    assert est.drain_s == pytest.approx(7200.0, abs=120.0)
    g = feed(BudgetEstimator("p", Tier.MICRO))
    for _ in range(60):
        g.run(9.0, 60)
        swinging = g.run(17.0, 60)
    assert not swinging.flat
    assert swinging.drain_s is not None
    idle = feed(BudgetEstimator("p", Tier.MICRO)).run(4.0, 3600)
    assert idle.drain_s is None
