"""Diagnosis signals built from the watcher's latest observations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sbwatch.alerting.words import lever_text
from sbwatch.core.results import Outcome, ProbeKind, ProbeResult, ProbeState, ProbeStatus
from sbwatch.watch.signals import build_signals

NOW = datetime(2026, 5, 25, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


def status(
    kind: ProbeKind,
    state: ProbeState,
    outcome: Outcome = Outcome.OK,
    *,
    code: int | None = None,
    detail: str = "",
    data: dict[str, Any] | None = None,
) -> ProbeStatus:
    result = ProbeResult(REF, kind, outcome, NOW, 0.1, detail, code, data or {})
    return ProbeStatus(REF, kind, state, 1, 0, NOW, result)


def signals(statuses: list[ProbeStatus], provider: ProbeResult | None = None) -> Any:
    return build_signals(
        REF,
        NOW,
        {s.probe: s for s in statuses},
        provider=provider,
        budget=None,
        pressure=None,
        emails=[],
        warn_horizon_s=7200.0,
        low_ratio=0.2,
    )


def test_own_services_states_outcomes_and_codes() -> None:
    """db/rest/auth states, last outcomes and HTTP codes are carried over by service name."""
    built = signals(
        [
            status(ProbeKind.REST, ProbeState.DOWN, Outcome.TIMEOUT, code=522),
            status(ProbeKind.AUTH, ProbeState.UP),
        ]
    )
    assert {"rest": ProbeState.DOWN, "auth": ProbeState.UP} == built.services
    assert {"rest": Outcome.TIMEOUT, "auth": Outcome.OK} == built.outcomes
    assert {"rest": 522} == built.status_codes


@pytest.mark.parametrize(
    ("outcome", "code", "detail", "data", "expected"),
    [
        (
            Outcome.OK,
            None,
            "",
            {"project_status": "ACTIVE_HEALTHY", "services": {"db": "ACTIVE_HEALTHY"}},
            True,
        ),
        (
            Outcome.FAIL,
            None,
            "rest UNHEALTHY",
            {"project_status": "ACTIVE_HEALTHY", "services": {"rest": "UNHEALTHY"}},
            True,
        ),
        (Outcome.FAIL, 503, "management API error (503)", {}, False),
        (Outcome.ERROR, None, "management API unreachable: refused", {}, False),
        (Outcome.TIMEOUT, None, "management API did not answer in time", {}, False),
        (Outcome.FAIL, 401, "token invalid or expired", {}, True),
        (Outcome.FAIL, 403, "token lacks projects_read", {}, True),
    ],
)
def test_management_api_reachability(
    outcome: Outcome, code: int | None, detail: str, data: dict[str, Any], expected: bool | None
) -> None:
    """An answer (even a refusal) means reachable; 5xx, timeouts, refused do not; 429 is unknown."""
    built = signals(
        [status(ProbeKind.MGMT_HEALTH, ProbeState.UP, outcome, code=code, detail=detail, data=data)]
    )
    assert expected == built.mgmt_reachable


def test_a_rate_limited_call_says_nothing_about_reachability() -> None:
    """A call the client held back for the rate limit was not made: reachability is unknown."""
    last = ProbeResult(REF, ProbeKind.MGMT_HEALTH, Outcome.ERROR, NOW, 0.0, retry_after_s=30.0)
    held = ProbeStatus(REF, ProbeKind.MGMT_HEALTH, ProbeState.UP, 1, 0, NOW, last)
    assert signals([held]).mgmt_reachable is None


@pytest.mark.parametrize(
    ("outcome", "indicator", "reachable"),
    [(Outcome.OK, "major", True), (Outcome.FAIL, None, True), (Outcome.ERROR, None, False)],
)
def test_status_page(outcome: Outcome, indicator: str | None, reachable: bool) -> None:
    """The status page's indicator counts only when it answered; refused means unreachable."""
    data = {"indicator": "major", "components": {"Database": "major_outage"}}
    provider = ProbeResult("_provider", ProbeKind.STATUS_PAGE, outcome, NOW, 0.1, data=data)
    built = signals([], provider)
    assert (indicator, reachable) == (built.status_indicator, built.status_reachable)


@pytest.mark.parametrize(
    ("state", "outcome", "code", "retry", "expected"),
    [
        (ProbeState.DOWN, Outcome.ERROR, None, 30.0, "rate limited (HTTP 429)"),
        (ProbeState.DOWN, Outcome.FAIL, 503, None, "failing (HTTP 503)"),
        (ProbeState.DOWN, Outcome.TIMEOUT, None, None, "failing (no answer in time)"),
        (ProbeState.DOWN, Outcome.ERROR, None, None, "failing (unreachable)"),
        (ProbeState.DOWN, Outcome.FAIL, 401, None, None),  # an answer: the token is rejected
        (ProbeState.UP, Outcome.ERROR, None, 30.0, None),  # one 429 is not yet a failing API
    ],
)
def test_the_management_apis_own_trouble_once_confirmed(
    state: ProbeState,
    outcome: Outcome,
    code: int | None,
    retry: float | None,
    expected: str | None,
) -> None:
    """A Management API confirmed rate limited or failing is the lever's trouble, named."""
    result = ProbeResult(
        REF, ProbeKind.MGMT_HEALTH, outcome, NOW, 0.1, status_code=code, retry_after_s=retry
    )
    built = signals([ProbeStatus(REF, ProbeKind.MGMT_HEALTH, state, 0, 2, NOW, result)])
    lever = built.mgmt_lever
    assert expected == (None if lever is None else lever_text(lever))
