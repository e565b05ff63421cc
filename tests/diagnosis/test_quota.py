"""HTTP 402 (the organization over its quota) is its own diagnosis: never an outage, never a
resize, and the message says what is restricted and what lifts it."""

from __future__ import annotations

from dataclasses import replace

from sbwatch.alerting.words import fact_line, headline
from sbwatch.core.results import (
    DiagnosisKind,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
)
from sbwatch.policy.diagnosis import diagnose
from sbwatch.policy.escalation import FIXABLE
from sbwatch.watch.signals import build_signals

from .test_diagnosis import DOWN, NOW, REF, budget, sig


def test_402_from_the_project_is_a_quota_restriction() -> None:
    """REST and auth answering 402, the budget even empty: quota_restricted, not an outage or
    an exhaustion, and no compute change can fix it."""
    restricted = sig(
        services=dict(DOWN),
        outcomes={"db": Outcome.OK, "rest": Outcome.FAIL, "auth": Outcome.FAIL},
        status_codes={"rest": 402, "auth": 402},
        status_indicator="major",
        budget=budget(0.0, 0.0, throughput=11.0),
        iowait_ratio=0.7,
    )
    found = diagnose(restricted)
    assert DiagnosisKind.QUOTA_RESTRICTED == found.kind
    assert "auth, rest answered HTTP 402" in fact_line(found.evidence[0])
    assert found.kind not in FIXABLE
    assert "quota (HTTP 402), not an outage" in headline(found)


def test_402_from_the_management_api_counts_too() -> None:
    """The Management API answering 402 to the health call says the same."""
    last = ProbeResult(REF, ProbeKind.MGMT_HEALTH, Outcome.FAIL, NOW, 0.1, status_code=402)
    status = ProbeStatus(REF, ProbeKind.MGMT_HEALTH, ProbeState.DOWN, 2, 0, NOW, last)
    built = build_signals(
        REF,
        NOW,
        {ProbeKind.MGMT_HEALTH: status},
        provider=None,
        budget=None,
        pressure=None,
        emails=(),
        warn_horizon_s=86_400,
        low_ratio=0.2,
    )
    assert DiagnosisKind.QUOTA_RESTRICTED == diagnose(built).kind
    assert DiagnosisKind.HEALTHY == diagnose(replace(sig(), status_codes={"rest": 200})).kind
