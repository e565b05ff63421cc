"""The estimator against the simulator's independent disk IO model, tier by tier, shape by shape."""

from __future__ import annotations

import pytest

from sbwatch.core.tiers import Tier
from sbwatch.sim.accuracy import BURST_TIERS, Realism, Shape, run, shapes

RATIO_TOLERANCE = 0.10
ETA_TOLERANCE = 0.15

CASES = [(tier, shape) for tier in BURST_TIERS for shape in shapes(tier)]


@pytest.mark.parametrize(("tier", "shape"), CASES, ids=[f"{t}-{s.name}" for t, s in CASES])
def test_estimate_tracks_the_model(tier: Tier, shape: Shape) -> None:
    """Ratio within 10 points at every scrape; ETA within 15% once the burn has lasted 1h."""
    result = run(tier, shape)
    assert result.max_ratio_error <= RATIO_TOLERANCE
    assert 0 == result.eta_missing
    assert all(abs(err) <= ETA_TOLERANCE for err in result.eta_errors), result.eta_errors


def test_shapes_cover_the_forecast() -> None:
    """The ETA is judged at all: steady, day-night and ramp burn for over an hour (micro)."""
    judged = {s.name for s in shapes(Tier.MICRO) if run(Tier.MICRO, s).eta_errors}
    assert {"steady", "day-night", "ramp"} <= judged


@pytest.mark.parametrize("tier", BURST_TIERS)
def test_lost_and_late_scrapes_keep_the_ratio_close(tier: Tier) -> None:
    """With 3% of scrapes lost and timestamps off by up to 1 s, the ratio stays within 10 points."""
    realism = Realism(jitter_s=1.0, drop=0.03)
    for shape in shapes(tier):
        assert run(tier, shape, realism=realism).max_ratio_error <= RATIO_TOLERANCE
