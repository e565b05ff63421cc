"""Alert conditions from a diagnosis, a budget and an escalation decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.conditions import conditions
from sbwatch.alerting.words import budget_title, headline
from sbwatch.config.settings import AlertingSettings, BudgetSettings
from sbwatch.core.facts import Fact, FactKind
from sbwatch.core.results import (
    Alert,
    ApiFault,
    ApiTrouble,
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    Severity,
)
from sbwatch.core.subjects import Subject
from sbwatch.core.tiers import Tier
from sbwatch.policy.alerts import Condition, PolicyState, evaluate
from sbwatch.policy.budget import budget_severity
from sbwatch.policy.conditions import next_latch
from sbwatch.policy.escalation import Bound, EscalationDecision, Limit, Reach, Reason, Why

NOW = datetime(2026, 5, 25, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


def diagnosis(
    kind: DiagnosisKind, *, confidence: float = 0.8, service: str | None = None
) -> Diagnosis:
    evidence = (Fact(FactKind.PROBE_DOWN, service="rest"), Fact(FactKind.STATUS_GREEN))
    return Diagnosis(REF, NOW, kind, confidence, evidence, service)


def budget(ratio: float, eta_s: float | None) -> BudgetEstimate:
    return BudgetEstimate(REF, NOW, Tier.MICRO, ratio, 4.0, eta_s, 0.9, 15.0, 100.0)


def by_subject(kind: DiagnosisKind, **kwargs: object) -> dict[str, object]:
    conds = conditions(
        diagnosis(kind),
        kwargs.get("budget"),  # type: ignore[arg-type]  # test helper passes typed values
        kwargs.get("severity"),  # type: ignore[arg-type]
        kwargs.get("decision"),  # type: ignore[arg-type]
        budget_latched=bool(kwargs.get("latched", False)),
    )
    return {c.subject: c for c in conds}


@pytest.mark.parametrize(
    ("kind", "active", "severity", "folds"),
    [
        (DiagnosisKind.HEALTHY, False, Severity.CRITICAL, False),
        (DiagnosisKind.SERVICE_DOWN, True, Severity.CRITICAL, False),
        (DiagnosisKind.PLATFORM_OUTAGE, True, Severity.CRITICAL, True),
        (DiagnosisKind.LOCAL_NETWORK, True, Severity.CRITICAL, True),
        (DiagnosisKind.PROJECT_PAUSED, True, Severity.CRITICAL, False),
        (DiagnosisKind.DISK_FULL, True, Severity.CRITICAL, False),
        (DiagnosisKind.CONNECTIONS_EXHAUSTED, True, Severity.CRITICAL, False),
        (DiagnosisKind.UNKNOWN, True, Severity.WARNING, False),
        (DiagnosisKind.IO_BUDGET_LOW, False, Severity.CRITICAL, False),
        (DiagnosisKind.IO_BUDGET_EXHAUSTED, False, Severity.CRITICAL, False),
    ],
)
def test_diagnosis_condition_per_kind(
    kind: DiagnosisKind, active: bool, severity: Severity, folds: bool
) -> None:
    """Each kind opens (or not) the diagnosis alert with its severity; IO kinds use their own."""
    cond = by_subject(kind)["diagnosis"]
    assert (active, severity, folds) == (cond.active, cond.severity, cond.folds_others)  # type: ignore[attr-defined]


def test_unknown_without_signals_stays_quiet() -> None:
    """'No signal yet' at start-up is not worth waking anyone."""
    cond = conditions(
        diagnosis(DiagnosisKind.UNKNOWN, confidence=0.2), None, None, None, budget_latched=False
    )
    assert [False] == [c.active for c in cond if c.subject == "diagnosis"]


@pytest.mark.parametrize(
    ("kind", "severity", "latched", "active", "expected_severity"),
    [
        (DiagnosisKind.HEALTHY, None, False, False, Severity.WARNING),
        (DiagnosisKind.HEALTHY, Severity.WARNING, False, True, Severity.WARNING),
        (DiagnosisKind.HEALTHY, None, True, True, Severity.WARNING),
        (DiagnosisKind.HEALTHY, Severity.CRITICAL, False, True, Severity.CRITICAL),
        (DiagnosisKind.IO_BUDGET_LOW, None, False, True, Severity.WARNING),
        (DiagnosisKind.IO_BUDGET_EXHAUSTED, None, False, True, Severity.CRITICAL),
    ],
)
def test_io_budget_condition(
    kind: DiagnosisKind,
    severity: Severity | None,
    latched: bool,
    active: bool,
    expected_severity: Severity,
) -> None:
    """The budget alert is active on an IO diagnosis, a forecast warning, or while latched."""
    cond = by_subject(kind, budget=budget(0.5, 3600.0), severity=severity, latched=latched)[
        "io_budget"
    ]
    assert (active, expected_severity) == (cond.active, cond.severity)  # type: ignore[attr-defined]


def test_a_latched_budget_eases_once_nothing_is_left_to_warn_of() -> None:
    """Held open by the latch alone: INFO while the load is under the baseline, or once the
    forecast is days past the warn horizon (the spike that raised it ended, a slow drain
    nothing would warn of); a warning while the forecast hovers near the horizon, so that it
    does not open and ease by turns."""

    def latched(estimate: BudgetEstimate) -> tuple[bool, Severity]:
        io = by_subject(DiagnosisKind.HEALTHY, budget=estimate, latched=True)["io_budget"]
        assert isinstance(io, Condition)
        return io.active, io.severity

    refill = BudgetEstimate(REF, NOW, Tier.MICRO, 0.4, -8.0, None, 0.9, 3.0, 100.0)
    assert (True, Severity.INFO) == latched(refill)
    assert (True, Severity.INFO) == latched(budget(0.6, 4 * 86_400.0))
    assert (True, Severity.WARNING) == latched(budget(0.6, 30 * 3600.0))


ASK = EscalationDecision(
    "ask", Tier.SMALL, Reason(Why.ASK, DiagnosisKind.IO_BUDGET_LOW), 5.0, Tier.MICRO
)


def test_ask_mode_body_carries_the_command() -> None:
    """In ask mode the alert says exactly what to run; a forecast is a warning, not a page
    (the published limits are minimums: it runs out early); failing services page."""
    cond = by_subject(DiagnosisKind.IO_BUDGET_LOW, budget=budget(0.1, 3000.0), decision=ASK)
    io = cond["io_budget"]
    assert "Run: sbwatch escalate abcdefghijklmnopqrst --to small" in io.body  # type: ignore[attr-defined]
    assert Severity.WARNING == io.severity  # type: ignore[attr-defined]
    failing = by_subject(DiagnosisKind.IO_BUDGET_EXHAUSTED, budget=budget(0.0, None), decision=ASK)[
        "io_budget"
    ]
    assert Severity.CRITICAL == failing.severity  # type: ignore[attr-defined]


def test_a_proposal_not_about_the_io_budget_leaves_it_a_warning() -> None:
    """ "ask" raises the budget alert only for an IO diagnosis; a forecast stays a warning."""
    cond = by_subject(
        DiagnosisKind.HEALTHY, budget=budget(0.5, 3600.0), severity=Severity.WARNING, decision=ASK
    )
    assert (True, Severity.WARNING) == (cond["io_budget"].active, cond["io_budget"].severity)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("ratio", "eta", "expected"),
    [
        (0.5, 7200.0, "disk IO budget 50% left, runs out in ~2h"),
        (0.9, None, "disk IO budget 90% left"),
        (0.0, 0.0, "disk IO budget used up: throughput held at the micro baseline"),
    ],
)
def test_budget_title(ratio: float, eta: float | None, expected: str) -> None:
    """The budget line says what is left and when it runs out, or that it is used up."""
    assert expected == budget_title(diagnosis(DiagnosisKind.HEALTHY), budget(ratio, eta))


def test_headline_names_the_service() -> None:
    """A service_down headline names the service, never a probe."""
    assert "rest is down" == headline(diagnosis(DiagnosisKind.SERVICE_DOWN, service="rest"))


@pytest.mark.parametrize(
    ("latched", "raised", "ratio", "expected"),
    [
        (False, True, 0.5, True),  # raised: latched
        (True, False, 0.5, True),  # quiet again but not refilled: still latched
        (True, False, 0.95, False),  # refilled: released
        (False, True, 1.0, True),  # draining on a new size: alerted like any other
        (True, False, None, False),  # no estimate: only the signal holds
    ],
)
def test_next_latch(latched: bool, raised: bool, ratio: float | None, expected: bool) -> None:
    """The latch keeps until the budget refills, or the signal alone without an estimate."""
    assert expected == next_latch(latched, raised, ratio)


def test_a_budget_earning_back_releases_the_latch() -> None:
    """Half empty but the load under the baseline with nothing forecast: released."""
    assert not next_latch(True, False, 0.5, refills=True)
    assert next_latch(True, True, 0.5, refills=True)  # still raised (an email, say): kept


def test_a_used_up_budget_that_refills_says_so_and_asks_nothing() -> None:
    """Under the baseline the budget earns back: the title says refilling, and it is no alert
    (nothing is forecast to run out: the truth shows nothing failing then); held at the
    baseline, it is a warning."""
    refill = BudgetEstimate(REF, NOW, Tier.MICRO, 0.005, -8.0, None, 0.9, 3.0, 100.0)
    title = budget_title(diagnosis(DiagnosisKind.IO_BUDGET_LOW), refill)
    assert "disk IO budget 0% left, refilling (load under the baseline)" == title
    assert budget_severity(refill, BudgetSettings()) is None
    held = replace(refill, burn_mbps=0.0, throughput_mbps=11.0)
    held_title = budget_title(diagnosis(DiagnosisKind.IO_BUDGET_LOW), held)
    assert "disk IO budget used up: throughput held at the micro baseline" == held_title


def test_an_iops_limited_budget_says_which_balance() -> None:
    """Small random reads: the title names IOPS and the body the operations against baseline."""
    ops = BudgetEstimate(REF, NOW, Tier.MICRO, 0.4, -6.0, 7200.0, 0.9, 5.0, 5_500.0, "iops")
    title = budget_title(diagnosis(DiagnosisKind.HEALTHY), ops)
    assert "disk IO budget 40% left (IOPS), runs out in ~2h" == title
    io = by_subject(DiagnosisKind.HEALTHY, budget=ops, severity=Severity.WARNING, latched=False)
    assert "5500 IOPS against a baseline of 500" in io["io_budget"].body  # type: ignore[attr-defined]


@pytest.mark.parametrize("eta", [1e15, 1e300])
def test_an_eta_past_the_calendar_is_said_without_a_date(eta: float) -> None:
    """A drain barely above the baseline (an ETA of millions of years) does not crash the
    title: the pattern's weekday and hour are left out, the duration stays."""
    far = replace(budget(0.5, eta), basis="pattern")
    title = budget_title(diagnosis(DiagnosisKind.IO_BUDGET_LOW), far)
    assert title.startswith("disk IO budget 50% left, runs out in ~")
    assert "UTC" not in title


def test_a_budget_beyond_sbwatchs_reach_carries_why_and_the_command() -> None:
    """The budget warning says why sbwatch will not act and what to run, once."""
    at_most = Reach(Bound(Limit.MAX_TIER, Tier.SMALL, max_tier=Tier.SMALL), Tier.MEDIUM, 7200.0)
    ahead = (
        "sbwatch will not raise the size itself (already at small; max_tier is small). "
        f"Run: sbwatch escalate {REF} --to medium"
    )
    conds = conditions(
        diagnosis(DiagnosisKind.HEALTHY),
        budget(0.6, 19 * 3600.0),
        Severity.WARNING,
        None,
        budget_latched=False,
        ahead=at_most,
    )
    io = next(c for c in conds if c.subject == "io_budget")
    assert io.active
    assert io.body.endswith(f"\n{ahead}")
    assert 1 == io.body.count("sbwatch escalate")
    assert 7200.0 == io.due_s  # the person must act: a last call as the change falls due
    (within,) = (
        c
        for c in conditions(
            diagnosis(DiagnosisKind.HEALTHY),
            budget(0.6, 19 * 3600.0),
            Severity.WARNING,
            None,
            budget_latched=False,
        )
        if c.subject == "io_budget"
    )
    assert within.due_s is None  # sbwatch raises it itself: nothing falls due for the person


def test_a_cause_that_ends_while_the_services_keep_failing_is_taken_in() -> None:
    """The project was paused (its alert paged); it resumes but the database and REST go on
    failing, now from the used-up budget: the pause's alert closes without a RESOLVED (the
    failure did not end) and the budget's alert names it. The same when the services fail on
    their own after an outage: each service's alert takes the old cause in."""
    paused = Alert(
        key=f"{REF}:diagnosis",
        project=REF,
        severity=Severity.CRITICAL,
        title="project is paused",
        body="",
        opened_at=NOW,
        last_sent_at=NOW,
        cause="project_paused",
    )
    later = NOW + timedelta(minutes=10)
    for kind, subject in (
        (DiagnosisKind.IO_BUDGET_EXHAUSTED, "io_budget"),
        (DiagnosisKind.SERVICE_DOWN, "service:db"),
    ):
        failing = replace(diagnosis(kind), at=later, services=("db",))
        conds = conditions(failing, budget(0.0, None), None, None, budget_latched=True)
        actions, _ = evaluate(REF, conds, [paused], [], AlertingSettings(), PolicyState(), later)
        said = [(a.kind, a.alert.key, a.send) for a in actions]
        closed = [a for a in actions if a.alert.key == paused.key]
        assert [("resolve", False)] == [(a.kind, a.send) for a in closed], said
        cause = next(a for a in actions if a.alert.key == f"{REF}:{subject}")
        assert ("project is paused",) == cause.alert.part_of


def test_a_level_never_read_is_said_with_the_command_that_pins_it() -> None:
    """The budget warning of an estimate whose level was assumed says so, with the exact
    `budget set` command; once the level is read, the line is gone."""

    def io_body(estimate: BudgetEstimate) -> str:
        cond = by_subject(DiagnosisKind.HEALTHY, budget=estimate, severity=Severity.WARNING)
        io = cond["io_budget"]
        assert isinstance(io, Condition)
        return io.body

    body = io_body(replace(budget(0.4, 3 * 3600.0), assumed=True))
    assert "The level was assumed full when sbwatch began" in body
    assert body.endswith(f"sbwatch budget set {REF} PCT")
    assert "assumed" not in io_body(budget(0.4, 3 * 3600.0))


def test_the_api_unreachable_with_everything_else_is_no_lever_warning_of_its_own() -> None:
    """The Management API failing alone is one warning; unreachable while every service fails
    and nothing outside was read since (our network or the provider's, not told apart yet),
    it is part of that failure, not a warning of its own."""
    trouble = ApiTrouble(ApiFault.UNREACHABLE)

    def lever(kind: DiagnosisKind, *facts: Fact) -> bool:
        found = replace(diagnosis(kind), evidence=facts, lever=trouble)
        conds = conditions(found, None, None, None, budget_latched=False)
        return next(c.active for c in conds if c.subject == Subject.MGMT_API)

    assert lever(DiagnosisKind.HEALTHY, Fact(FactKind.ANSWERING, services=("rest",)))
    assert not lever(
        DiagnosisKind.UNKNOWN, Fact(FactKind.API_UNREACHABLE), Fact(FactKind.NO_OUTSIDE)
    )
    assert not lever(DiagnosisKind.LOCAL_NETWORK, Fact(FactKind.API_UNREACHABLE))


@pytest.mark.parametrize(("eta_s", "told"), [(600.0, None), (601.0, 601.0), (7200.0, 7200.0)])
def test_no_forecast_update_just_before_sbwatch_raises(eta_s: float, told: float | None) -> None:
    """Auto mode raises 5 minutes before the zero: within twice that, the budget alert tells no
    forecast (no "3% left, runs out in ~6m" two minutes before the raise says it); further
    out, the forecast stands."""
    not_due = Reason(Why.NOT_DUE, DiagnosisKind.IO_BUDGET_LOW, ratio=0.3, eta_s=eta_s, lead_s=300.0)
    decision = EscalationDecision("none", None, not_due)
    conds = by_subject(
        DiagnosisKind.IO_BUDGET_LOW,
        budget=budget(0.3, eta_s),
        severity=Severity.WARNING,
        decision=decision,
    )
    io = conds[Subject.IO_BUDGET]
    assert isinstance(io, Condition)
    assert (True, told) == (io.active, io.eta_s)


def test_no_forecast_update_while_a_raise_waits_for_a_minute_s_reading() -> None:
    """A raise due on a five-minute reading waits a minute for a minute's: no forecast update
    in that minute either (the raise, or the burst's end, is the news)."""
    confirming = Reason(Why.CONFIRMING, DiagnosisKind.IO_BUDGET_LOW, ratio=0.03, eta_s=250.0)
    conds = by_subject(
        DiagnosisKind.IO_BUDGET_LOW,
        budget=budget(0.03, 250.0),
        severity=Severity.WARNING,
        decision=EscalationDecision("none", None, confirming),
    )
    io = conds[Subject.IO_BUDGET]
    assert isinstance(io, Condition)
    assert (True, None) == (io.active, io.eta_s)
