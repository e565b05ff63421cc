"""next_status: gatus-style failure/success thresholds, as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.config.settings import ProbeSettings
from sbwatch.core.results import (
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    Transition,
)
from sbwatch.policy.thresholds import next_status

T0 = datetime(2026, 5, 26, tzinfo=UTC)
U, UP, DOWN = ProbeState.UNKNOWN, ProbeState.UP, ProbeState.DOWN


def _result(ok: bool, index: int) -> ProbeResult:
    outcome = Outcome.OK if ok else Outcome.TIMEOUT
    return ProbeResult("p", ProbeKind.REST, outcome, T0 + timedelta(seconds=30 * index), 0.1)


def _replay(pattern: str, failures: int, successes: int) -> tuple[list[ProbeState], list[int]]:
    settings = ProbeSettings(failures_before_down=failures, successes_before_up=successes)
    status: ProbeStatus | None = None
    states: list[ProbeState] = []
    changes: list[int] = []
    for index, char in enumerate(pattern):
        status, transition = next_status(status, _result(char == "+", index), settings)
        states.append(status.state)
        if transition is not None:
            changes.append(index)
    return states, changes


@pytest.mark.parametrize(
    ("pattern", "failures", "successes", "states", "changes"),
    [
        ("+", 2, 1, [UP], [0]),
        ("-", 2, 1, [U], []),
        ("--", 2, 1, [U, DOWN], [1]),
        ("+-+-", 2, 1, [UP, UP, UP, UP], [0]),
        ("+--+", 2, 1, [UP, UP, DOWN, UP], [0, 2, 3]),
        ("++", 1, 3, [U, U], []),
        ("+++", 1, 3, [U, U, UP], [2]),
        ("-++-+++", 1, 3, [DOWN, DOWN, DOWN, DOWN, DOWN, DOWN, UP], [0, 6]),
        ("---", 3, 1, [U, U, DOWN], [2]),
        ("--+--", 3, 1, [U, U, UP, UP, UP], [2]),
    ],
)
def test_threshold_table(
    pattern: str, failures: int, successes: int, states: list[ProbeState], changes: list[int]
) -> None:
    """Consecutive results cross the thresholds exactly as the table says ('+' ok, '-' not ok)."""
    assert (states, changes) == _replay(pattern, failures, successes)


def test_transition_and_counters() -> None:
    """A state change carries previous/current and its time; counters reset on the other outcome."""
    settings = ProbeSettings(failures_before_down=2, successes_before_up=1)
    up, first = next_status(None, _result(True, 0), settings)
    once, none = next_status(up, _result(False, 1), settings)
    down, second = next_status(once, _result(False, 2), settings)
    assert Transition("p", ProbeKind.REST, U, UP, T0) == first
    assert none is None
    assert Transition("p", ProbeKind.REST, UP, DOWN, T0 + timedelta(seconds=60)) == second
    assert (0, 2, T0 + timedelta(seconds=60)) == (
        down.consecutive_ok,
        down.consecutive_fail,
        down.changed_at,
    )
    assert (1, 0, T0) == (up.consecutive_ok, up.consecutive_fail, once.changed_at)
    assert _result(False, 2) == down.last
