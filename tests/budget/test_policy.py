"""Severity of an estimate, resource pressure, and the stored forms of budget values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sbwatch.config.settings import BudgetSettings
from sbwatch.core.results import BudgetEstimate, IoSample, Severity
from sbwatch.core.tiers import Tier
from sbwatch.policy.budget import (
    Pressure,
    budget_severity,
    estimate_from_dict,
    estimate_to_dict,
    pressure,
)
from sbwatch.watch.state import (
    correction_doc,
    correction_key,
    parse_correction,
)

T0 = datetime(2026, 5, 20, tzinfo=UTC)
HOUR = 3600.0


def estimate(ratio: float, eta_s: float | None) -> BudgetEstimate:
    """An estimate with just the fields severity reads."""
    return BudgetEstimate("p", T0, Tier.MICRO, ratio, 1.0, eta_s, 0.9)


@pytest.mark.parametrize(
    ("ratio", "eta_s", "expected"),
    [
        (1.0, None, None),
        (0.9, 48 * HOUR, None),
        (0.9, 24 * HOUR, Severity.WARNING),
        (0.9, 2 * HOUR, Severity.WARNING),
        (0.9, 1 * HOUR, Severity.WARNING),
        (0.9, 0.0, Severity.WARNING),
        (0.2, None, Severity.WARNING),
        (0.21, None, None),
        (0.01, None, Severity.WARNING),
        (0.0, None, Severity.WARNING),
        (0.05, 30 * HOUR, Severity.WARNING),
    ],
)
def test_budget_severity_table(
    ratio: float, eta_s: float | None, expected: Severity | None
) -> None:
    """By default the estimate alone never pages: WARNING at ETA within 24h, at <= 20% or used
    up (the published limits are minimums: the services failing page, through the diagnosis)."""
    assert expected == budget_severity(estimate(ratio, eta_s), BudgetSettings())


PAGING = BudgetSettings(critical_horizon=timedelta(hours=1))


@pytest.mark.parametrize(
    ("ratio", "eta_s", "raised_in_time", "expected"),
    [
        (0.9, 2 * HOUR, False, Severity.WARNING),
        (0.9, 1 * HOUR, False, Severity.CRITICAL),
        (0.05, 600.0, False, Severity.CRITICAL),
        (0.9, 1 * HOUR, True, Severity.WARNING),
        (0.05, 600.0, True, Severity.WARNING),
        (0.0, None, False, Severity.WARNING),
    ],
)
def test_a_configured_critical_horizon_pages_unless_sbwatch_raises_in_time(
    ratio: float, eta_s: float | None, raised_in_time: bool, expected: Severity
) -> None:
    """``critical_horizon`` set: a forecast within it pages, unless sbwatch raises the size
    itself before it runs out; a used-up estimate with nothing forecast stays a warning."""
    assert expected == budget_severity(
        estimate(ratio, eta_s), PAGING, raised_in_time=raised_in_time
    )


def test_severity_follows_configured_horizons() -> None:
    """Horizons and the low ratio come from the settings."""
    settings = BudgetSettings(
        warn_horizon=timedelta(hours=6), critical_horizon=timedelta(hours=3), low_ratio=0.5
    )
    assert Severity.CRITICAL == budget_severity(estimate(0.9, 2 * HOUR), settings)
    assert Severity.WARNING == budget_severity(estimate(0.4, None), settings)
    assert None is budget_severity(estimate(0.9, 12 * HOUR), settings)


@pytest.mark.parametrize(
    ("flat", "drain_h", "eta_h", "expected"),
    [
        (True, 12, 47, Severity.WARNING),  # held half a day: told two days ahead
        (True, 12, 49, None),
        (True, 6, 23, Severity.WARNING),  # the plain horizon still holds
        (True, 6, 25, None),
        (True, 30, 71, Severity.WARNING),  # no further than the pattern's three days
        (True, 30, 73, None),
        (False, 12, 47, None),  # a load that wanders is not stretched
    ],
)
def test_a_flat_drain_is_warned_of_four_times_as_far_ahead_as_it_has_held(
    flat: bool, drain_h: float, eta_h: float, expected: Severity | None
) -> None:
    """At the current rate the horizon is 24 h, stretched for a load that holds one level to
    four times how long it has drained, up to the pattern's 72 h."""
    held = replace(estimate(0.9, eta_h * HOUR), flat=flat, drain_s=drain_h * HOUR)
    assert expected == budget_severity(held, BudgetSettings())


def sample(at: datetime, cpu: float, idle: float, iowait: float, **gauges: Any) -> IoSample:
    """A sample with CPU counters and optional gauges."""
    return IoSample(at, 0, 0, 0, 0, iowait, cpu, idle, **gauges)


def test_pressure_from_two_samples() -> None:
    """Shares of CPU time, memory and disk space between two scrapes."""
    prev = sample(T0, 100, 50, 10)
    cur = sample(
        T0 + timedelta(minutes=1),
        220,
        80,
        70,
        mem_available_bytes=1e8,
        mem_total_bytes=1e9,
        fs_avail_bytes=4e9,
        fs_size_bytes=8e9,
        pg_up=1.0,
    )
    expected = Pressure(
        iowait_ratio=0.5,
        cpu_busy_ratio=0.25,
        mem_available_ratio=0.1,
        disk_used_ratio=0.5,
        pg_up=True,
    )
    assert expected == pressure(prev, cur)


def test_pressure_without_history_or_gauges_is_unknown() -> None:
    """No previous sample and no gauges: every ratio is None."""
    assert Pressure(None, None, None, None, None) == pressure(None, sample(T0, 1, 1, 0))


def test_pressure_ignores_cpu_counter_reset() -> None:
    """CPU counters going down (a restart) give no CPU ratios; pg down reads False."""
    prev = sample(T0, 500, 400, 10)
    cur = sample(T0 + timedelta(minutes=1), 20, 10, 1, pg_up=0.0)
    got = pressure(prev, cur)
    assert (None, None, False) == (got.iowait_ratio, got.cpu_busy_ratio, got.pg_up)


def test_correction_doc_round_trip() -> None:
    """A stored correction reads back as the same percentage and time."""
    assert (35.5, T0) == parse_correction(correction_doc(35.5, T0))
    assert "correction:abcdefghijklmnopqrst" == correction_key("abcdefghijklmnopqrst")


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"consumed_pct": "x", "at": T0.isoformat()},
        {"consumed_pct": 120, "at": T0.isoformat()},
        {"consumed_pct": 5, "at": "2026-05-20T00:00:00"},
    ],
)
def test_malformed_corrections_are_refused(doc: dict[str, Any]) -> None:
    """Missing fields, non-numbers, out-of-range or naive times raise ValueError."""
    with pytest.raises(ValueError, match="budget correction"):
        parse_correction(doc)


def test_estimate_dict_round_trip() -> None:
    """An estimate survives its dict form."""
    est = BudgetEstimate("p", T0, Tier.SMALL, 0.4, 2.5, 1234.0, 0.7, 30.0, 200.0)
    assert est == estimate_from_dict(estimate_to_dict(est))
