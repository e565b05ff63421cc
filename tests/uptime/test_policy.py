"""Availability against the objective: thresholded states, coverage and maintenance in; each
window, each day and the error budget out. Pure values, no store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from sbwatch.config.oncall import MaintenanceSettings
from sbwatch.config.settings import ProbeSettings
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult, ProbeState, Transition
from sbwatch.policy.thresholds import next_status
from sbwatch.policy.uptime import (
    LOOKBACK,
    ServiceUptime,
    Span,
    covered,
    maintenance_spans,
    service_uptime,
    state_spans,
)

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
SINCE = NOW - LOOKBACK
SLOT = timedelta(minutes=10)
H = 3600.0
DB = ProbeKind.DB
UP, DOWN, UNKNOWN = ProbeState.UP, ProbeState.DOWN, ProbeState.UNKNOWN


def at(days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
    """A time before NOW."""
    return NOW - timedelta(days=days, hours=hours, minutes=minutes)


def move(when: datetime, previous: ProbeState, current: ProbeState) -> Transition:
    """A db state change."""
    return Transition(REF, DB, previous, current, when)


def outage(start: datetime, end: datetime) -> list[Transition]:
    """db down from ``start`` until ``end``, up before and after."""
    return [move(start, UP, DOWN), move(end, DOWN, UP)]


ALL_KNOWN: list[Span] = [(SINCE, NOW)]


def figures(
    transitions: list[Transition],
    current: ProbeState = UP,
    coverage: list[Span] | None = None,
    maint: list[Span] | None = None,
    objective: float = 99.9,
) -> ServiceUptime:
    """The db figures as of NOW."""
    states = state_spans(transitions, current, SINCE, NOW)
    known = ALL_KNOWN if coverage is None else coverage
    return service_uptime(DB, states, known, maint or [], objective, NOW)


def test_an_outage_eight_days_ago_is_in_30d_and_90d_but_not_7d() -> None:
    """One hour down eight days ago: 7d is whole, 30d and 90d hold the hour; the 30-day budget
    at 99.9% (43m12s) is overspent by the hour."""
    result = figures(outage(at(days=8), at(days=8, hours=-1)))
    assert 1.0 == result.windows["7d"].availability
    assert H == result.windows["30d"].down_s == result.windows["90d"].down_s
    assert 1 - H / (30 * 86400) == pytest.approx(result.windows["30d"].availability)
    assert 2592.0 == pytest.approx(result.budget.allowed_s)
    assert H == result.budget.spent_s
    assert 1 - H / 2592 == pytest.approx(result.budget.remaining_ratio)


def test_an_outage_across_the_7d_boundary_counts_only_its_part_inside() -> None:
    """Down from 7d30m ago to 6d23h30m ago: 30 minutes of it fall in the 7-day window."""
    result = figures(outage(at(days=7, minutes=30), at(days=7, minutes=-30)))
    assert (1800.0, 3600.0) == (result.windows["7d"].down_s, result.windows["30d"].down_s)


def test_an_outage_across_midnight_splits_between_the_two_days() -> None:
    """23:30 to 00:30: half an hour on each day; the cells of those days show it, others not."""
    start = datetime(2026, 5, 20, 23, 30, tzinfo=UTC)
    result = figures(outage(start, start + timedelta(hours=1)))
    days = dict(result.days)
    assert 1800.0 == days[date(2026, 5, 20)].down_s == days[date(2026, 5, 21)].down_s
    assert 0.0 == days[date(2026, 5, 19)].down_s == days[date(2026, 5, 22)].down_s
    assert 1 - 1800 / 86400 == pytest.approx(days[date(2026, 5, 21)].availability)


def test_the_bar_has_90_days_ending_with_today_so_far() -> None:
    """90 cells, the oldest 89 days ago; today counts the 12 hours up to NOW."""
    result = figures([])
    assert 90 == len(result.days)
    assert (date(2026, 2, 26), date(2026, 5, 26)) == (result.days[0][0], result.days[-1][0])
    assert 12 * H == result.days[-1][1].up_s


def test_maintenance_is_neither_up_nor_down() -> None:
    """Down 10:00-11:30 three days ago inside a window 10:00-11:00: only the half hour after
    the window is down, the hour is maintenance, and the budget's base shrinks by it."""
    start = datetime(2026, 5, 23, 10, 0, tzinfo=UTC)
    window = [(start, start + timedelta(hours=1))]
    result = figures(outage(start, start + timedelta(minutes=90)), maint=window)
    seven = result.windows["7d"]
    assert (1800.0, H) == (seven.down_s, seven.maintenance_s)
    assert 0.0 == seven.unknown_s
    assert (7 * 86400 - H - 1800) == seven.up_s
    assert (30 * 86400 - H) * 0.001 == pytest.approx(result.budget.allowed_s)


def test_time_without_probe_results_is_unknown_not_up() -> None:
    """The daemon was off for 2 h yesterday: those hours are unknown, and availability over the
    time known stays whole; a day with no result at all has no availability."""
    off = at(days=1, hours=2)
    coverage = [(SINCE, off), (off + timedelta(hours=2), NOW)]
    result = figures([], coverage=coverage)
    assert (2 * H, 1.0) == (result.windows["7d"].unknown_s, result.windows["7d"].availability)
    nothing = figures([], coverage=[])
    assert None is nothing.windows["30d"].availability
    assert None is nothing.days[3][1].availability


def test_down_while_sbwatch_was_off_is_unknown() -> None:
    """Down from 3 h ago, but no result came in the last 2 h: one hour down, two unknown."""
    coverage = [(SINCE, at(hours=2))]
    result = figures([move(at(hours=3), UP, DOWN)], current=DOWN, coverage=coverage)
    assert (H, 2 * H) == (result.windows["7d"].down_s, result.windows["7d"].unknown_s)


def test_state_unknown_is_unknown() -> None:
    """A service that never left unknown has no availability and spends no budget."""
    result = figures([], current=UNKNOWN)
    assert (None, 0.0) == (result.windows["7d"].availability, result.budget.spent_s)


def test_the_state_before_the_first_change_is_the_one_it_left() -> None:
    """The only change in 90 days is down -> up 3 days ago: down from the window's start."""
    result = figures([move(at(days=3), DOWN, UP)])
    assert 87 * 86400 == result.windows["90d"].down_s
    assert 4 * 86400 == result.windows["7d"].down_s


def test_a_single_failed_probe_is_not_downtime() -> None:
    """Results through the real thresholds (two failures before down): one failure between
    successes changes nothing; two in a row are down until the next success."""
    settings = ProbeSettings(failures_before_down=2)
    outcomes = [Outcome.OK, Outcome.FAIL, Outcome.OK, Outcome.FAIL, Outcome.FAIL, Outcome.OK]
    status, transitions = None, []
    for n, outcome in enumerate(outcomes):
        result = ProbeResult(REF, DB, outcome, at(hours=1, minutes=-n), 0.1)
        status, moved = next_status(status, result, settings)
        transitions += [moved] if moved else []
    assert status is not None
    found = figures(transitions, current=status.state, coverage=[(at(hours=1), NOW)])
    assert 60.0 == found.windows["7d"].down_s  # from the second failure to the success


def test_covered_runs_reach_one_interval_for_slow_probes() -> None:
    """A slot run covers itself; a probe every 25 minutes covers two slots more after it."""
    run = [(at(hours=1), at(hours=1, minutes=-10))]
    assert run == covered(run, SLOT, timedelta(seconds=30))
    assert [(run[0][0], run[0][0] + timedelta(minutes=30))] == covered(
        run, SLOT, timedelta(minutes=25)
    )


def test_maintenance_from_store_and_configuration_for_this_project_only() -> None:
    """A stored window for the project, one for another project (left out), a configured span
    named by the project's name, and a daily cron window played forward over 90 days."""
    stored = [
        MaintenanceWindow(1, REF, at(days=2), at(days=2, hours=-1), "migration"),
        MaintenanceWindow(2, "zzzzzzzzzzzzzzzzzzzz", at(days=4), at(days=3), "other"),
    ]
    configured = [
        MaintenanceSettings(project="shop", start=at(days=10), end=at(days=10, hours=-2)),
        MaintenanceSettings.model_validate(
            {"project": "*", "cron": "0 3 * * *", "duration": "30m", "timezone": "UTC"}
        ),
    ]
    spans = maintenance_spans(REF, stored, configured, {"shop": REF}, SINCE, NOW)
    total = sum((end - start).total_seconds() for start, end in spans)
    assert 90 * 1800 + H + 2 * H == total
    assert (NOW.replace(hour=3), NOW.replace(hour=3, minute=30)) == spans[-1]
