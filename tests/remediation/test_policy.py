"""Escalation policy tables: what may escalate, the bounds, the journal, and the modes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.alerting.words import decision_reason, reach_line
from sbwatch.config.settings import EscalationSettings
from sbwatch.core.facts import Fact, FactKind
from sbwatch.core.results import (
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    EscalationMode,
    Intent,
    IntentState,
)
from sbwatch.core.tiers import Tier, rank
from sbwatch.policy.escalation import (
    EscalationDecision,
    Reason,
    Why,
    beyond_reach,
    decide,
    raise_lead_s,
    watch_closely,
    will_raise,
)
from sbwatch.remediation.executor import NOT_APPLIED

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
AUTO = EscalationSettings(mode=EscalationMode.AUTO, max_tier=Tier.SMALL, monthly_cost_cap_usd=30)
K = DiagnosisKind


def budget(
    ratio: float = 0.02, eta_s: float | None = 300.0, throughput: float = 33.0, burn: float = 22.0
) -> BudgetEstimate:
    """A budget estimate of the test project on micro (11 MB/s baseline): its smoothed load
    is the baseline plus the burn (by default three times the baseline: true limits above the
    published ones cannot carry it, so it is raised ahead)."""
    over = (11.0 + burn) / 11.0
    return BudgetEstimate(
        REF, NOW, Tier.MICRO, ratio, burn, eta_s, 0.9, throughput_mbps=throughput, load_over=over
    )


def intent(state: IntentState, minutes_ago: float, *, project: str = REF, id: int = 1) -> Intent:
    """A journal entry that last changed some minutes ago."""
    at = NOW - timedelta(minutes=minutes_ago)
    return Intent(id, project, Tier.NANO, Tier.MICRO, "test", "daemon", at, state, at)


@dataclass(frozen=True)
class Case:
    """One row: inputs and the expected action and target."""

    name: str
    kind: DiagnosisKind
    action: str
    target: Tier | None
    budget: BudgetEstimate | None = field(default_factory=budget)
    policy: EscalationSettings = AUTO
    tier: Tier = Tier.MICRO
    journal: tuple[Intent, ...] = ()
    prices: dict[Tier, float] | None = None
    reason: str = ""
    ahead: bool = False
    """Memory or CPU short while the services still answer."""
    oom_eta_s: float | None = None
    leaking: bool = False
    """Memory: a leak, now or up to the last OOM."""
    evidence: tuple[Fact, ...] = ()


QUEUE = Fact(FactKind.THROTTLED_SLOW, service="rest", seconds=2.5, ratio=0.0)
HELD = Fact(FactKind.THROTTLED_LOW, ratio=0.19)
"""A scrape's throughput at a baseline while the estimate is low (a five-minute reading over
a burst's end can average there)."""
"""REST answering late as the estimate reaches zero (policy.diagnosis)."""

CASES = [
    Case("budget exhausted escalates one step", K.IO_BUDGET_EXHAUSTED, "escalate", Tier.SMALL),
    Case(
        "a budget reading empty before any load is measured, the services answering: waits "
        "for the next scrape (it may be refilling)",
        K.IO_BUDGET_LOW,
        "none",
        None,
        replace(budget(0.005, None, throughput=0.0, burn=0.0), load_known=False),
        reason="the load is not measured yet",
    ),
    Case(
        "a budget reading empty, the load measured at the baseline, the services answering: "
        "held there it is slowed, not refused; not raised",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.005, None, throughput=11.0, burn=0.0),
        reason="served slower, not refused",
    ),
    Case(
        "the budget runs out within the resize and its margin, the load 1.2x the baseline: "
        "slowed, not refused once held there; not raised ahead",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.02, 300.0, throughput=13.2, burn=2.2),
        reason="raising if the services fail from it",
    ),
    Case(
        "the budget runs out within the resize and its margin, the load 1.3x the published "
        "baseline: raised once the throttle is seen, not ahead",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.02, 300.0, throughput=14.3, burn=3.3),
        reason="raising once the disks are seen holding it back",
    ),
    Case(
        "the budget runs out within the resize and its margin, the load 1.9x the published "
        "baseline: raised once the throttle is seen, not ahead",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.02, 300.0, throughput=20.9, burn=9.9),
        reason="raising once the disks are seen holding it back",
    ),
    Case(
        "the budget runs out within the resize and its margin, the load 1.9x the published "
        "baseline, REST answering late (the disks' queue building): raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.02, 300.0, throughput=20.9, burn=9.9),
        evidence=(QUEUE,),
    ),
    Case(
        "the estimate ran out while the disks served above the published baseline (overdrawn), "
        "now REST answers late (the true budget ran out): raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        replace(budget(0.0, None, throughput=14.3, burn=3.3), overdrawn=True),
        evidence=(QUEUE,),
    ),
    Case(
        "used up, held at the baseline, the load 1.4x it (the throttle seen): raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.0, None, throughput=11.0, burn=4.4),
    ),
    Case(
        "the estimate reads empty, the disks serve 1.3x the published baseline (overdrawn): "
        "the true budget is not spent; not raised",
        K.IO_BUDGET_LOW,
        "none",
        None,
        replace(budget(0.0, None, throughput=14.3, burn=3.3), overdrawn=True),
        reason="the true budget is not spent",
    ),
    Case(
        "a budget reading empty before any load is measured while the services fail: raised",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        replace(budget(0.005, None, throughput=0.0, burn=0.0), load_known=False),
    ),
    Case("cpu exhausted escalates", K.CPU_EXHAUSTED, "escalate", Tier.SMALL),
    Case("memory exhausted escalates", K.MEMORY_EXHAUSTED, "escalate", Tier.SMALL),
    Case(
        "memory short while the services answer: proposed, not raised",
        K.MEMORY_EXHAUSTED,
        "ask",
        Tier.SMALL,
        budget(0.6, 86_400.0),
        ahead=True,
        reason="raised once the services fail",
    ),
    Case(
        "a leak runs to an OOM within minutes: proposed, never raised (any size runs out)",
        K.MEMORY_EXHAUSTED,
        "ask",
        Tier.SMALL,
        budget(0.6, 86_400.0),
        ahead=True,
        oom_eta_s=1500.0,
        leaking=True,
        reason="a leak: a bigger size only puts the OOM off",
    ),
    Case(
        "a leak's OOM struck and the services fail: proposed, never raised",
        K.MEMORY_EXHAUSTED,
        "ask",
        Tier.SMALL,
        budget(0.6, 86_400.0),
        leaking=True,
        reason="a leak: a bigger size only puts the OOM off",
    ),
    Case(
        "a leak's OOM while the IO budget runs out within the resize and its margin: raised "
        "for the budget (the leak holds back no raise the budget needs)",
        K.MEMORY_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        budget(0.04, 300.0),
        leaking=True,
        reason="io_budget_low: raise micro -> small",
    ),
    Case(
        "memory short ahead while the estimate ran out and the disks still serve above the "
        "baseline (overdrawn): raised for the budget, as the budget's own decision would",
        K.MEMORY_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        replace(budget(0.0, None), overdrawn=True),
        ahead=True,
        reason="io_budget_low",
    ),
    Case(
        "the budget's own decision on the same overdrawn estimate: raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        replace(budget(0.0, None), overdrawn=True),
    ),
    Case(
        "CPU saturated while the services answer: proposed, not raised",
        K.CPU_EXHAUSTED,
        "ask",
        Tier.SMALL,
        budget(0.6, 86_400.0),
        ahead=True,
        reason="raised once the services fail",
    ),
    Case(
        "budget low, runs out within the resize and its margin",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.4, 300),
    ),
    Case(
        "budget low, runs out within the resize and its margin on a five-minute reading: a "
        "burst ending within those minutes still fills it; a minute's reading confirms first",
        K.IO_BUDGET_LOW,
        "none",
        None,
        replace(budget(0.4, 300), span_s=300.0),
        reason="raising once a minute's reading shows the load still draining it",
    ),
    Case(
        "held at a baseline on a five-minute reading while the estimate has a fifth left: a "
        "burst ending within it averages there too; a minute's reading confirms first",
        K.IO_BUDGET_LOW,
        "none",
        None,
        replace(budget(0.19, 1200.0), span_s=300.0),
        evidence=(HELD,),
        reason="raising once a minute's reading shows the load still draining it",
    ),
    Case(
        "held at a baseline on a minute's reading: the throttle, raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        replace(budget(0.19, 1200.0), span_s=60.0),
        evidence=(HELD,),
    ),
    Case(
        "budget low, runs out within the resize and its margin on a minute's reading: raised",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        replace(budget(0.4, 300), span_s=60.0),
    ),
    Case(
        "budget low, runs out in ten minutes: a burst may still end before the zero (the disks "
        "are read every minute until the raise falls due)",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.4, 600),
        reason="raising 5m33s",
    ),
    Case(
        "budget low, runs out in an hour: the old size's budget is still worth spending",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.4, 3600),
        reason="raising 5m33s",
    ),
    Case(
        "a spike just over: the smoothed rate still drains, the load now does not",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.88, 600, throughput=4.0),
        reason="nothing drains it now",
    ),
    Case(
        "ask mode: a person is asked escalate_within ahead",
        K.IO_BUDGET_LOW,
        "ask",
        Tier.SMALL,
        budget(0.4, 3600),
        policy=AUTO.model_copy(update={"mode": EscalationMode.ASK}),
    ),
    Case(
        "budget used up, ratio at 1%", K.IO_BUDGET_LOW, "escalate", Tier.SMALL, budget(0.01, None)
    ),
    Case(
        "budget used up but refilling: paying buys nothing",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.005, None, throughput=3.0, burn=-8.0),
        reason="refilling",
    ),
    Case(
        "services failing while the load has fallen under the baseline: never spend",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        budget(0.0, None, throughput=3.0, burn=-8.0),
        reason="refilling",
    ),
    Case(
        "used up and held at the baseline, the load before it 1.55x (throttled): raise",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.0, None, throughput=11.0, burn=6.0),
    ),
    Case(
        "budget low at 5% but not draining: low, not used up",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.05, None),
        reason="not draining",
    ),
    Case(
        "budget low, runs out in 10 h: not yet",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.4, 36_000),
        reason="before it runs out",
    ),
    Case(
        "budget low, not draining",
        K.IO_BUDGET_LOW,
        "none",
        None,
        budget(0.15, None),
        reason="not draining",
    ),
    Case(
        "budget low from an email alone", K.IO_BUDGET_LOW, "none", None, None, reason="check budget"
    ),
    Case("platform outage never escalates", K.PLATFORM_OUTAGE, "none", None, reason="does not fix"),
    Case("local network never escalates", K.LOCAL_NETWORK, "none", None),
    Case("unknown never escalates", K.UNKNOWN, "none", None),
    Case("service down never escalates", K.SERVICE_DOWN, "none", None),
    Case("healthy never escalates", K.HEALTHY, "none", None),
    Case("paused never escalates", K.PROJECT_PAUSED, "none", None),
    Case("a quota restriction (HTTP 402) never escalates", K.QUOTA_RESTRICTED, "none", None),
    Case("a resize under way never escalates", K.RESIZING, "none", None),
    Case("disk full never escalates", K.DISK_FULL, "none", None),
    Case("exhausted connections never escalate", K.CONNECTIONS_EXHAUSTED, "none", None),
    Case(
        "at max_tier already",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        tier=Tier.SMALL,
        reason="max_tier",
    ),
    Case(
        "above max_tier (raised by hand): never a downgrade",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        tier=Tier.LARGE,
    ),
    Case(
        "next size over the cost cap",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        policy=AUTO.model_copy(update={"max_tier": Tier.LARGE}),
        tier=Tier.SMALL,
        reason="over the cap",
    ),
    Case(
        "listed price over the cap",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        prices={Tier.MICRO: 10.0, Tier.SMALL: 31.0},
        reason="$31.00",
    ),
    Case(
        "listed price within the cap",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        prices={Tier.MICRO: 10.0, Tier.SMALL: 29.0},
    ),
    Case(
        "open intent blocks",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(intent(IntentState.OPEN, 500),),
        reason="still open",
    ),
    Case(
        "applied intent awaiting verification blocks",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(intent(IntentState.APPLIED, 500),),
        reason="still applied",
    ),
    Case(
        "another project's open intent does not block",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        journal=(intent(IntentState.OPEN, 5, project="zzzzzzzzzzzzzzzzzzzz"),),
    ),
    Case(
        "cooldown after a recovered change",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(intent(IntentState.RECOVERED, 30),),
        reason="cooldown",
    ),
    Case(
        "cooldown after an unrecovered change",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(intent(IntentState.UNRECOVERED, 59),),
        reason="cooldown",
    ),
    Case(
        "cooldown over",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        journal=(intent(IntentState.RECOVERED, 61),),
    ),
    Case(
        "a refused change waits before the next proposal",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(intent(IntentState.FAILED, 5),),
        reason="refused",
    ),
    Case(
        "a change the API did not take (429, 5xx) is tried again while it is needed",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        journal=(replace(intent(IntentState.FAILED, 3), detail=NOT_APPLIED),),
    ),
    Case(
        "a change the API did not take a minute ago: a breath first",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        None,
        journal=(replace(intent(IntentState.FAILED, 1), detail=NOT_APPLIED),),
        reason="retry in 1m",
    ),
    Case(
        "a refused change long ago does not block",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        journal=(intent(IntentState.FAILED, 16),),
    ),
    Case(
        "mode off says what it would do",
        K.IO_BUDGET_EXHAUSTED,
        "none",
        Tier.SMALL,
        policy=AUTO.model_copy(update={"mode": EscalationMode.OFF}),
        reason="would io_budget_exhausted: raise micro -> small",
    ),
    Case(
        "mode ask gives the command",
        K.IO_BUDGET_EXHAUSTED,
        "ask",
        Tier.SMALL,
        policy=AUTO.model_copy(update={"mode": EscalationMode.ASK}),
        reason=f"sbwatch escalate {REF} --to small",
    ),
    Case(
        "max_steps 3: smallest size whose baseline carries the demand",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.MEDIUM,
        budget(0.0, 0.0, throughput=38),
        AUTO.model_copy(update={"max_tier": Tier.XL, "max_steps": 3, "monthly_cost_cap_usd": 500}),
    ),
    Case(
        "max_steps 3 bounded by max_tier",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        budget(0.0, 0.0, throughput=40),
        AUTO.model_copy(update={"max_steps": 3}),
    ),
    Case(
        "max_steps 3 bounded by the cost cap",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        budget(0.0, 0.0, throughput=100),
        AUTO.model_copy(update={"max_tier": Tier.XL, "max_steps": 3, "monthly_cost_cap_usd": 59}),
    ),
    Case(
        "max_steps 3, cpu: one step",
        K.CPU_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        budget(0.9, None, throughput=100),
        AUTO.model_copy(update={"max_tier": Tier.XL, "max_steps": 3, "monthly_cost_cap_usd": 500}),
    ),
    Case(
        "one step by default even for a large demand",
        K.IO_BUDGET_EXHAUSTED,
        "escalate",
        Tier.SMALL,
        budget(0.0, 0.0, throughput=200),
        AUTO.model_copy(update={"max_tier": Tier.XL, "monthly_cost_cap_usd": 500}),
    ),
]


def run(case: Case) -> EscalationDecision:
    """Decide one row."""
    diagnosis = Diagnosis(
        REF,
        NOW,
        case.kind,
        0.9,
        ahead=case.ahead,
        oom_eta_s=case.oom_eta_s,
        leaking=case.leaking,
        evidence=case.evidence,
    )
    return decide(
        diagnosis,
        case.budget,
        case.policy,
        case.tier,
        case.journal,
        NOW,
        prices=case.prices,
        ref=REF,
    )


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_policy_table(case: Case) -> None:
    """Each row gets the expected action and target, and its reason says why."""
    decision = run(case)
    reason = decision_reason(decision, REF)
    assert (case.action, case.target) == (decision.action, decision.target), reason
    assert case.reason in reason


def test_every_diagnosis_kind_is_in_the_table() -> None:
    """The table covers every diagnosis kind."""
    assert set(DiagnosisKind) == {case.kind for case in CASES}


def test_ask_decision_carries_command_and_cost() -> None:
    """An ask decision names the exact command and the monthly cost difference."""
    decision = run(
        Case(
            "ask",
            K.IO_BUDGET_EXHAUSTED,
            "ask",
            Tier.SMALL,
            policy=AUTO.model_copy(update={"mode": EscalationMode.ASK}),
        )
    )
    expected = EscalationDecision(
        "ask", Tier.SMALL, Reason(Why.ASK, K.IO_BUDGET_EXHAUSTED), 5.0, Tier.MICRO
    )
    assert expected == decision
    assert (
        f"io_budget_exhausted: raise micro -> small (+$5.00/month); run: sbwatch escalate {REF} "
        "--to small"
    ) == decision_reason(decision, REF)


def test_escalation_never_goes_down_or_past_max_tier() -> None:
    """Whatever the inputs, a target is above the current size and at most max_tier."""
    wide = AUTO.model_copy(
        update={"max_tier": Tier.XL, "max_steps": 8, "monthly_cost_cap_usd": 1e4}
    )
    for tier in Tier:
        for kind in DiagnosisKind:
            decision = run(Case("any", kind, "", None, tier=tier, policy=wide))
            if decision.target is not None:
                up, bounded = (
                    rank(decision.target) > rank(tier),
                    rank(decision.target) <= rank(Tier.XL),
                )
                assert (True, True) == (up, bounded)


@pytest.mark.parametrize(("confidence", "lead_s"), [(1.0, 300.0), (0.9, 333.3), (0.4, 750.0)])
def test_the_raise_lead_is_the_resize_and_a_margin_stretched_by_the_error(
    confidence: float, lead_s: float
) -> None:
    """Auto mode raises just in time: 5 minutes with a sure forecast, more as it is less so
    (at most 2.5 times), never earlier than escalate_within."""
    sure = BudgetEstimate(REF, NOW, Tier.MICRO, 0.4, 4.0, 3600.0, confidence, 15.0)
    assert lead_s == pytest.approx(raise_lead_s(sure, AUTO), abs=0.1)
    tight = AUTO.model_copy(update={"escalate_within": timedelta(minutes=4)})
    assert 240.0 == raise_lead_s(sure, tight)


@pytest.mark.parametrize(
    ("eta_s", "mode", "max_tier", "interval_s", "close"),
    [
        (600.0, EscalationMode.AUTO, Tier.LARGE, 300.0, True),  # the raise (5 min ahead)
        (601.0, EscalationMode.AUTO, Tier.LARGE, 300.0, False),  # the next scrape is in time
        (200.0, EscalationMode.AUTO, Tier.LARGE, 60.0, True),
        (None, EscalationMode.AUTO, Tier.LARGE, 300.0, False),  # nothing runs out
        (200.0, EscalationMode.ASK, Tier.LARGE, 300.0, False),  # a person raises it
        (200.0, EscalationMode.AUTO, Tier.MICRO, 300.0, False),  # max_tier: no raise to time
    ],
)
def test_the_disks_are_read_closely_while_a_raise_may_fall_due(
    eta_s: float | None, mode: EscalationMode, max_tier: Tier, interval_s: float, close: bool
) -> None:
    """Between two regular scrapes a raise could come minutes late; near it, every minute."""
    budget = BudgetEstimate(REF, NOW, Tier.MICRO, 0.1, 4.0, eta_s, 1.0, 15.0)
    policy = AUTO.model_copy(update={"mode": mode, "max_tier": max_tier})
    assert close == watch_closely(budget, policy, Tier.MICRO, interval_s)


@pytest.mark.parametrize(
    ("policy", "tier", "expected"),
    [
        (AUTO, Tier.MICRO, ""),
        (
            AUTO,
            Tier.SMALL,
            "sbwatch will not raise the size itself (already at small; max_tier is small). "
            f"Run: sbwatch escalate {REF} --to medium",
        ),
        (
            AUTO.model_copy(update={"max_tier": Tier.LARGE, "monthly_cost_cap_usd": 20}),
            Tier.SMALL,
            "sbwatch will not raise the size itself (medium costs $60.00/month, over the cap of "
            f"$20.00/month). Run: sbwatch escalate {REF} --to medium",
        ),
        (
            AUTO.model_copy(update={"mode": EscalationMode.ASK}),
            Tier.MICRO,
            "sbwatch will not raise the size itself (escalation mode is ask). "
            f"Run: sbwatch escalate {REF} --to small",
        ),
    ],
    ids=["auto-can-act", "max-tier", "cost-cap", "ask-mode"],
)
def test_a_budget_sbwatch_cannot_save_says_why_and_the_command(
    policy: EscalationSettings, tier: Tier, expected: str
) -> None:
    """A budget forecast to run out beyond sbwatch's reach: which limit, and what to run."""
    draining = BudgetEstimate(REF, NOW, tier, 0.6, 4.0, 19 * 3600.0, 0.9, 26.0)
    assert expected == reach_line(beyond_reach(draining, policy, tier), REF)


def test_nothing_to_say_ahead_when_nothing_runs_out() -> None:
    """A budget not forecast to run out needs no command, whatever the limits."""
    steady = BudgetEstimate(REF, NOW, Tier.SMALL, 0.6, -4.0, None, 0.9, 18.0)
    assert beyond_reach(steady, AUTO, Tier.SMALL) is None


def test_sbwatch_raises_itself_only_in_auto_mode_within_its_limits() -> None:
    """The size sbwatch will raise a draining budget to by itself, or None."""
    draining = BudgetEstimate(REF, NOW, Tier.MICRO, 0.6, 4.0, 5 * 3600.0, 0.9, 15.0)
    ask = AUTO.model_copy(update={"mode": EscalationMode.ASK})
    assert Tier.SMALL == will_raise(draining, AUTO, Tier.MICRO)
    assert None is will_raise(draining, ask, Tier.MICRO)
    assert None is will_raise(replace(draining, tier=Tier.SMALL), AUTO, Tier.SMALL)
    assert None is will_raise(replace(draining, eta_s=None), AUTO, Tier.MICRO)
