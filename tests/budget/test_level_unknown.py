"""A budget level never told: assumed full at first start, said as assumed, and taken from the
first hard evidence (throughput held at the baseline with the disks waiting)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from sbwatch.core.results import EmailKind, IoSample, ProviderEmail
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import BudgetEstimator
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import parse_scenario
from sbwatch.watch.pipeline import took_level
from sbwatch.watch.runtime import ProjectRuntime

REF = "abcdefghijklmnopqrst"
NOT_TOLD = f"""
name = "level-not-told"
duration = "1h"
[project]
ref = "{REF}"
tier = "micro"
io_budget_pct = 3
budget_told = false
[policy]
mode = "ask"
max_tier = "small"
[[events]]
at = "0s"
kind = "workload"
read_mbps = 40
"""
"""40 MB/s on a micro whose budget is 3% full: held at its 11 MB/s within ten minutes."""


def run(text: str) -> dict[str, Any]:
    """The replay's report."""
    return asyncio.run(replay(parse_scenario(text, source="level")))


def test_a_level_never_told_is_taken_from_the_throttle_it_meets() -> None:
    """The estimate starts full (it cannot know better) and reads 98% when the throttle
    comes; the page names the budget from the throttle itself (iowait, throughput flat at the
    baseline), and from then on the estimate reads it used up."""
    report = run(NOT_TOLD)
    estimated = {p["at_s"]: p["estimated"] for p in report["series"]}
    assert estimated[600.0] > 0.9
    assert [0.0] * 5 == [estimated[at] for at in (1200.0, 1800.0, 2400.0, 3000.0, 3600.0)]
    (page,) = [m for m in report["messages"] if "disk IO budget exhausted" in m["title"]]
    assert "flat at the micro baseline" in page["body"]


def test_a_level_told_is_not_assumed() -> None:
    """Told 3% at the start (the configuration's consumed_pct), the estimate reads it."""
    report = run(NOT_TOLD.replace("budget_told = false", "budget_told = true"))
    assert report["series"][1]["estimated"] < 0.05


class _Runtime:
    """The part of a project's runtime the level is learnt into: its estimator."""

    def __init__(self, estimator: BudgetEstimator) -> None:
        self.estimator = estimator


def _email(kind: EmailKind, at: datetime, *, trusted: bool = True) -> ProviderEmail:
    return ProviderEmail("<m@x>", kind, REF, at, "s", "noreply@supabase.com", trusted, "dkim")


@pytest.mark.parametrize(
    ("kind", "age", "trusted", "learnt"),
    [
        (EmailKind.IO_BUDGET_EXHAUSTED, timedelta(minutes=10), True, True),
        (EmailKind.IO_BUDGET_EXHAUSTED, timedelta(hours=3), True, False),
        (EmailKind.IO_BUDGET_EXHAUSTED, timedelta(minutes=10), False, False),
        (EmailKind.IO_BUDGET_WARNING, timedelta(minutes=10), True, False),
    ],
)
def test_a_fresh_trusted_depleted_email_tells_a_level_never_read(
    kind: EmailKind, age: timedelta, trusted: bool, learnt: bool
) -> None:
    """Only a trusted "depleted" email under an hour old pins an assumed level (to used up);
    a warning names no level, an old one is stale, an unverified one is no evidence."""
    start = datetime(2026, 5, 20, tzinfo=UTC)
    estimator = BudgetEstimator(REF, Tier.MICRO)
    estimator.update(IoSample(start, 0.0, 0.0, 0.0, 0.0))
    estimator.update(IoSample(start + timedelta(minutes=1), 11e6 * 60, 0.0, 0.0, 0.0))
    assert estimator.estimate is not None
    assert estimator.estimate.assumed
    now = start + timedelta(hours=4)
    took_level(
        cast(ProjectRuntime, _Runtime(estimator)), _email(kind, now - age, trusted=trusted), now
    )
    assert estimator.estimate is not None
    assert learnt == (not estimator.estimate.assumed and estimator.estimate.ratio == 0.0)
