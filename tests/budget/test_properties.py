"""Properties of the estimator over arbitrary histories (hypothesis)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sbwatch.core.results import IoSample
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.budget import MB, BudgetEstimator

T0 = datetime(2026, 5, 20, tzinfo=UTC)
BURST = [Tier.NANO, Tier.MICRO, Tier.SMALL, Tier.MEDIUM, Tier.LARGE, Tier.XL, Tier.XL2]

event = st.one_of(
    st.tuples(st.just("io"), st.floats(1, 4000), st.floats(0, 700), st.floats(0, 25_000)),
    st.tuples(st.just("reset"), st.floats(1, 4000)),
    st.tuples(st.just("correct"), st.floats(0, 100)),
    st.tuples(st.just("tier"), st.sampled_from(list(Tier))),
)


@settings(max_examples=200, deadline=None)
@given(
    tier=st.sampled_from(list(Tier)),
    start=st.floats(-1, 2),
    events=st.lists(event, max_size=60),
)
def test_ratio_always_within_zero_and_one(
    tier: Tier, start: float, events: list[tuple[Any, ...]]
) -> None:
    """Whatever happens (bursts, resets, gaps, corrections, resizes), 0 <= ratio <= 1."""
    est = BudgetEstimator("p", tier, ratio=start)
    t, mb, ops = T0, 0.0, 0.0
    for ev in events:
        if ev[0] == "io":
            t += timedelta(seconds=ev[1])
            mb += ev[2] * MB * ev[1]
            ops += ev[3] * ev[1]
        elif ev[0] == "reset":
            t += timedelta(seconds=ev[1])
            mb = ops = 0.0
        elif ev[0] == "correct":
            est.correct(ev[1], t)
        else:
            est.set_tier(ev[1], t)
        estimate = est.update(IoSample(t, mb, 0.0, ops, 0.0))
        assert 0.0 <= estimate.ratio <= 1.0
        assert 0.0 <= estimate.confidence <= 1.0
        assert estimate.eta_s is None or estimate.eta_s >= 0.0


def _final_eta(tier: Tier, intervals: list[tuple[float, float]]) -> float:
    est = BudgetEstimator("p", tier, learn_baseline=False)  # the forecast alone:
    # IO an empty bucket could not carry would teach a higher baseline, by design
    t, mb = T0, 0.0
    est.update(IoSample(t, 0.0, 0.0, 0.0, 0.0))
    for dt, rate in intervals:
        t += timedelta(seconds=dt)
        mb += rate * MB * dt
        est.update(IoSample(t, mb, 0.0, mb / 131_072, 0.0))
    eta = est.estimate.eta_s if est.estimate else None
    return math.inf if eta is None else eta


@settings(max_examples=200, deadline=None)
@given(
    tier=st.sampled_from(BURST),
    data=st.data(),
)
def test_more_load_never_yields_a_later_eta(tier: Tier, data: st.DataObject) -> None:
    """Adding IO to any interval of a history never pushes the forecast exhaustion later."""
    top = spec(tier).max_mbps
    # Some IO in every interval: unchanged counters within a minute or two read as the
    # endpoint repeating itself (REPEAT_WINDOW_S), not as an idle disk.
    base = data.draw(
        st.lists(st.tuples(st.floats(10, 3000), st.floats(0.01, top)), min_size=1, max_size=40)
    )
    extra = data.draw(st.lists(st.floats(0, top), min_size=len(base), max_size=len(base)))
    heavier = [(dt, min(top, rate + more)) for (dt, rate), more in zip(base, extra, strict=True)]
    light, heavy = _final_eta(tier, base), _final_eta(tier, heavier)
    assert heavy <= light * (1 + 1e-9) + 1e-6
