"""The disk forecast and the disk lever's decision: pure values in, values out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.words import disk_reason, escalate_command
from sbwatch.core.results import EscalationMode
from sbwatch.policy.disk import (
    DiskBounds,
    DiskDecision,
    DiskPoint,
    decide_disk,
    fill_rate,
    forecast,
    quota,
)
from sbwatch.supabase.disk import GB, autoscaled_gb

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


def filling(
    size_gb: float, used_gb: float, gb_per_hour: float, hours: float = 1.0
) -> list[DiskPoint]:
    """Readings every 5 minutes over ``hours`` up to NOW, ending at ``used_gb``."""
    steps = int(hours * 12)
    return [
        DiskPoint(
            NOW - timedelta(minutes=5 * (steps - i)),
            size_gb * GB,
            (used_gb - gb_per_hour * (steps - i) / 12) * GB,
        )
        for i in range(steps + 1)
    ]


def command(decision: DiskDecision) -> str:
    """The command the decision proposes."""
    assert decision.target_gb is not None
    return escalate_command(REF, disk_gb=decision.target_gb)


def bounds(mode: EscalationMode = EscalationMode.AUTO, **changes: object) -> DiskBounds:
    """The default bounds, changed where asked."""
    values: dict[str, object] = {
        "mode": mode,
        "grow_within_s": 86_400.0,
        "headroom_s": 3 * 86_400.0,
        "max_gb": 1000,
        "monthly_cost_cap_usd": 100.0,
        "compute_usd": 10.0,
        "cooldown_s": 3600.0,
    }
    values.update(changes)
    return DiskBounds(**values)  # type: ignore[arg-type]  # the fields of DiskBounds


@pytest.mark.parametrize(
    ("size", "grown"), [(8, 12), (41, 62), (500, 700), (1024, 1229), (2000, 2400)]
)
def test_autoscale_grows_by_half_capped(size: int, grown: int) -> None:
    """At 90% the provider adds half, at most 200 GB under 1 TB, a fifth above."""
    assert grown == autoscaled_gb(size)


def test_quota_counts_the_last_24_hours() -> None:
    """Four changes within 24 h spend the quota until the oldest of them is 24 h old."""
    changes = [NOW - timedelta(hours=h) for h in (30, 20, 10, 5, 1)]
    found = quota(changes, NOW)
    assert (4, True, NOW + timedelta(hours=4)) == (found.used, found.spent, found.frees_at)
    assert (3, False, None) == tuple(vars_of(quota(changes, NOW + timedelta(hours=4))))


def vars_of(q: object) -> list[object]:
    """The fields of a Quota, in order."""
    return [getattr(q, name) for name in ("used", "spent", "frees_at")]


def test_fill_rate_needs_ten_minutes_of_readings() -> None:
    """Two readings five minutes apart give no rate; an hour of them gives the slope."""
    points = filling(8, 6, 2.0)
    assert fill_rate(points[-2:], NOW) is None
    rate = fill_rate(points, NOW)
    assert rate is not None
    assert 2.0 == pytest.approx(rate * 3600 / GB)


def test_four_autoscales_then_read_only_when_the_quota_is_spent() -> None:
    """8 GB at 80% filling 2 GB/h: grown at 90% to 12, 18, 27 and 41 GB, then the quota is
    spent and the database goes read-only at 95% of 41 GB, before the quota frees."""
    fc = forecast(filling(8, 6.4, 2.0), [], NOW)
    assert fc is not None
    assert (4, "quota") == (fc.autoscales, fc.blocked_by)
    assert fc.autoscale_eta_s == pytest.approx(0.4 * 3600, rel=1e-6)
    read_only_h = (
        0.4 + (10.8 - 7.2) / 2 + (16.2 - 10.8) / 2 + (24.3 - 16.2) / 2 + (38.95 - 24.3) / 2
    )
    assert fc.read_only_eta_s == pytest.approx(read_only_h * 3600, rel=1e-6)
    assert NOW + timedelta(hours=24.4) == fc.frees_at


def test_quota_already_spent_is_counted_from_the_changes_seen() -> None:
    """Four changes seen in the last day: no autoscale before the quota frees, read-only at
    95% of the current disk."""
    changes = [NOW - timedelta(hours=h) for h in (20, 15, 10, 2)]
    fc = forecast(filling(40, 30, 2.0), changes, NOW)
    assert fc is not None
    assert (True, 0, "quota") == (fc.quota.spent, fc.autoscales, fc.blocked_by)
    assert fc.read_only_eta_s == pytest.approx((38 - 30) / 2 * 3600, rel=1e-6)
    assert NOW + timedelta(hours=4) == fc.frees_at


def test_the_quota_freeing_in_time_lets_the_disk_grow() -> None:
    """The quota frees before 95%: the provider grows the disk then, and nothing goes
    read-only within the horizon at a slow fill."""
    changes = [NOW - timedelta(hours=h) for h in (23.5, 15, 10, 2)]
    fc = forecast(filling(40, 35.5, 0.1), changes, NOW)
    assert fc is not None
    assert fc.read_only_eta_s is None
    assert fc.autoscales >= 1


def test_spend_cap_stops_growth_at_8_gb() -> None:
    """With the spend cap on, a 6 GB disk grows to 8 GB once and then goes read-only."""
    fc = forecast(filling(6, 5, 0.5), [], NOW, spend_cap=True)
    assert fc is not None
    assert (1, "spend_cap") == (fc.autoscales, fc.blocked_by)
    assert fc.read_only_eta_s == pytest.approx((7.6 - 5) / 0.5 * 3600, rel=1e-6)


def test_read_only_now() -> None:
    """At 95% with the quota spent the database is read-only now (0 seconds)."""
    changes = [NOW - timedelta(hours=h) for h in (20, 15, 10, 2)]
    fc = forecast([DiskPoint(NOW, 40 * GB, 38.1 * GB)], changes, NOW)
    assert fc is not None
    assert (0.0, "quota") == (fc.read_only_eta_s, fc.blocked_by)


def test_not_filling_forecasts_nothing() -> None:
    """A steady disk: no autoscale and no read-only ahead."""
    fc = forecast(filling(8, 5, 0.0), [], NOW)
    assert fc is not None
    assert (None, None) == (fc.autoscale_eta_s, fc.read_only_eta_s)


def test_auto_mode_grows_once_for_the_headroom() -> None:
    """Read-only ahead within a day: grow once to hold three days of fill under 80%."""
    fc = forecast(filling(8, 5.6, 1.5), [], NOW)
    decision = decide_disk(fc, bounds(), 8, now=NOW)
    assert ("grow", 142) == (decision.action, decision.target_gb)
    assert "sbwatch escalate abcdefghijklmnopqrst --disk-gb 142" == command(decision)


def test_ask_mode_gives_the_exact_command_within_the_cost_cap() -> None:
    """Ask mode proposes the command; the cap (compute and disk together) trims the size."""
    fc = forecast(filling(8, 5.6, 1.5), [], NOW)
    decision = decide_disk(fc, bounds(EscalationMode.ASK, monthly_cost_cap_usd=25.0), 8, now=NOW)
    assert ("ask", 128) == (decision.action, decision.target_gb)
    assert command(decision) == f"sbwatch escalate {REF} --disk-gb 128"


def test_never_when_the_quota_is_spent() -> None:
    """A spent quota: no change, and the reason says when the next one is allowed."""
    changes = [NOW - timedelta(hours=h) for h in (20, 15, 10, 2)]
    fc = forecast(filling(40, 30, 2.0), changes, NOW)
    decision = decide_disk(fc, bounds(), 40, now=NOW)
    assert ("none", None) == (decision.action, decision.target_gb)
    assert "quota of 4 disk changes in 24 h is spent" in disk_reason(decision)
    assert "next is allowed at Wed 16:00 UTC" in disk_reason(decision)


def test_nothing_to_do_far_from_read_only() -> None:
    """One autoscale ahead and no read-only: the provider's own growth is enough."""
    fc = forecast(filling(8, 5, 0.1), [], NOW)
    assert "none" == decide_disk(fc, bounds(), 8, now=NOW).action


def test_a_pending_change_waits() -> None:
    """An unresolved disk change: no second one."""
    fc = forecast(filling(8, 5.6, 1.5), [], NOW)
    decision = decide_disk(fc, bounds(), 8, now=NOW, pending=True)
    assert "none" == decision.action


def test_a_failed_change_waits_before_another() -> None:
    """A refused disk change: none proposed again for 15 minutes, then again."""
    fc = forecast(filling(8, 5.6, 1.5), [], NOW)
    waiting = decide_disk(fc, bounds(), 8, now=NOW, last_failed=NOW - timedelta(minutes=5))
    assert ("none", "the last disk change failed; retry in 10m") == (
        waiting.action,
        disk_reason(waiting),
    )
    later = decide_disk(fc, bounds(), 8, now=NOW, last_failed=NOW - timedelta(minutes=15))
    assert "grow" == later.action
