"""The May 26 replay with escalation off: early warning, and the outage named for what it is."""

from __future__ import annotations

from tests.replay.conftest import LongRuns

DAY_S = 86_400.0


def test_first_warning_leads_the_true_exhaustion_by_a_day(long_runs: LongRuns) -> None:
    """With nothing to stop the drain, the first warning comes >= 24 h before the true zero."""
    run = long_runs.may26_off
    assert 0 == run.code, run.stderr[-2000:]
    report = run.report
    zero = next(p["at_s"] for p in report["series"] if p["true"] <= 0.0)
    warnings = [a for a in report["alerts"] if a["severity"] in ("warning", "critical")]
    assert warnings, "no warning at all"
    assert zero - warnings[0]["at_s"] >= DAY_S, (zero, warnings[0])
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_the_outage_is_the_budget_not_the_platform(long_runs: LongRuns) -> None:
    """Services fail on day five with a green status page: io_budget_exhausted, never a platform
    outage, as the May 26 team should have been told."""
    report = long_runs.may26_off.report
    kinds = [d["kind"] for d in report["diagnoses"]]
    assert "io_budget_exhausted" in kinds, kinds
    assert report["downtime_s"] > 0
    assert {"platform_outage", "local_network"}.isdisjoint(kinds)
