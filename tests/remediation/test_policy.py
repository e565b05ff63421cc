"""Escalation policy tables: what may escalate, the bounds, the journal, and the modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from sbwatch.config.settings import EscalationSettings
from sbwatch.core.results import (
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    EscalationMode,
    Intent,
    IntentState,
)
from sbwatch.policy.escalation import EscalationDecision, decide
from sbwatch.supabase.tiers import Tier, rank

REF = "abcdefghijklmnopqrst"
NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
AUTO = EscalationSettings(mode=EscalationMode.AUTO, max_tier=Tier.SMALL, monthly_cost_cap_usd=30)
K = DiagnosisKind


def budget(
    ratio: float = 0.02, eta_s: float | None = 600.0, throughput: float = 15.0, burn: float = 4.0
) -> BudgetEstimate:
    """A budget estimate of the test project on micro."""
    return BudgetEstimate(REF, NOW, Tier.MICRO, ratio, burn, eta_s, 0.9, throughput_mbps=throughput)


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


CASES = [
    Case("budget exhausted escalates one step", K.IO_BUDGET_EXHAUSTED, "escalate", Tier.SMALL),
    Case("cpu exhausted escalates", K.CPU_EXHAUSTED, "escalate", Tier.SMALL),
    Case("memory exhausted escalates", K.MEMORY_EXHAUSTED, "escalate", Tier.SMALL),
    Case(
        "budget low, runs out within escalate_within",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.4, 3600),
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
        "used up and held at the baseline (throttled): raise",
        K.IO_BUDGET_LOW,
        "escalate",
        Tier.SMALL,
        budget(0.0, None, throughput=11.0, burn=0.0),
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
        reason="escalating only within",
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
    Case("disk full never escalates", K.DISK_FULL, "none", None),
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
    diagnosis = Diagnosis(REF, NOW, case.kind, 0.9)
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
    assert (case.action, case.target) == (decision.action, decision.target), decision.reason
    assert case.reason in decision.reason


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
        "ask",
        Tier.SMALL,
        f"io_budget_exhausted: raise micro -> small (+$5.00/month); run: {decision.command}",
        f"sbwatch escalate {REF} --to small",
        5.0,
        "raise micro -> small (+$5.00/month)",
    )
    assert expected == decision


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
