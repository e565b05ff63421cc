"""Failure and success thresholds (pure): from probe results to an up/down/unknown state.

A (project, probe) starts ``unknown``; ``failures_before_down`` consecutive non-ok results make
it ``down`` and ``successes_before_up`` consecutive ok results make it ``up``. Every change of
state is returned as a Transition (the first one from ``unknown`` included).
"""

from __future__ import annotations

from sbwatch.config.settings import ProbeSettings
from sbwatch.core.results import ProbeResult, ProbeState, ProbeStatus, Transition

COUNTER_CAP = 1_000_000
"""Consecutive counters stop growing here: beyond any threshold, and safe for any column."""


def next_status(
    current: ProbeStatus | None, result: ProbeResult, settings: ProbeSettings
) -> tuple[ProbeStatus, Transition | None]:
    """The state after ``result``, and the transition if the state changed."""
    state = current.state if current else ProbeState.UNKNOWN
    ok_count = current.consecutive_ok if current else 0
    fail_count = current.consecutive_fail if current else 0
    changed_at = current.changed_at if current else None
    if result.ok:
        ok_count, fail_count = min(ok_count + 1, COUNTER_CAP), 0
    else:
        ok_count, fail_count = 0, min(fail_count + 1, COUNTER_CAP)
    new_state = state
    if result.ok and ok_count >= settings.successes_before_up:
        new_state = ProbeState.UP
    elif not result.ok and fail_count >= settings.failures_before_down:
        new_state = ProbeState.DOWN
    failing_since = None
    if not result.ok:
        kept = current.failing_since if current is not None and current.consecutive_fail else None
        failing_since = kept or result.at
    transition = None
    if new_state is not state:
        changed_at = result.at
        transition = Transition(result.project, result.probe, state, new_state, result.at)
    status = ProbeStatus(
        project=result.project,
        probe=result.probe,
        state=new_state,
        consecutive_ok=ok_count,
        consecutive_fail=fail_count,
        changed_at=changed_at,
        last=result,
        failing_since=failing_since,
    )
    return status, transition
