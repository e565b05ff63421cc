"""The escalation policy: whether to raise the compute size, to what, and who decides (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from sbwatch.config.settings import EscalationSettings
from sbwatch.core.durations import format_duration
from sbwatch.core.results import (
    NOT_APPLIED,
    BudgetEstimate,
    Diagnosis,
    DiagnosisKind,
    EscalationMode,
    Intent,
    IntentState,
)
from sbwatch.core.tiers import Tier, next_tier, rank, spec
from sbwatch.policy.budget import EXHAUSTED_RATIO, refilling, used_up_now

RESIZE_S = 120.0
"""How long a resize takes: services restart for about two minutes."""
RAISE_MARGIN_S = 600.0
"""Beyond the resize: evaluations a scrape apart, the change's own round trips, and the
estimate's own drift from the truth near the end (minutes)."""
MAX_FORECAST_ERROR = 0.6
"""The forecast's relative error is taken as ``1 - confidence``, capped here."""
_AUTO = EscalationMode.AUTO
FAILED_RETRY = timedelta(minutes=15)
"""After a refused change, wait this long (or the cooldown, if shorter) before proposing again.
A change the API did not take (429 or 5xx, found not applied once its Retry-After had passed)
is proposed again after ``UNTAKEN_RETRY`` while it is still needed."""
UNTAKEN_RETRY = timedelta(minutes=2)
"""After a change the API did not take: a breath for an API that gave no Retry-After."""
FIXABLE = frozenset(
    {
        DiagnosisKind.IO_BUDGET_EXHAUSTED,
        DiagnosisKind.IO_BUDGET_LOW,
        DiagnosisKind.CPU_EXHAUSTED,
        DiagnosisKind.MEMORY_EXHAUSTED,
    }
)
"""Only resource exhaustion that a bigger compute size cures."""
IO_KINDS = frozenset({DiagnosisKind.IO_BUDGET_EXHAUSTED, DiagnosisKind.IO_BUDGET_LOW})
HOST_KINDS = frozenset({DiagnosisKind.CPU_EXHAUSTED, DiagnosisKind.MEMORY_EXHAUSTED})
UNFINISHED = frozenset({IntentState.OPEN, IntentState.APPLIED})
CHANGED = frozenset({IntentState.APPLIED, IntentState.RECOVERED, IntentState.UNRECOVERED})


@dataclass(frozen=True)
class EscalationDecision:
    """What to do about the compute size now, and why."""

    action: Literal["none", "ask", "escalate"]
    target: Tier | None
    reason: str
    """Why: the whole answer, for logs and the journal."""
    command: str | None
    """The exact command a person runs to make the change (ask mode)."""
    monthly_cost_delta_usd: float | None
    summary: str = ""
    """The proposed change in a few words ("raise micro -> small (+$5.23/month)")."""


def monthly_price(tier: Tier, prices: Mapping[Tier, float] | None) -> float:
    """USD/month of a tier: the provider's listed price when known, else the tier table's."""
    if prices is not None and tier in prices:
        return prices[tier]
    return spec(tier).monthly_usd


def _none(reason: str) -> EscalationDecision:
    return EscalationDecision("none", None, reason, None, None)


def decide(
    diagnosis: Diagnosis,
    budget: BudgetEstimate | None,
    policy: EscalationSettings,
    current_tier: Tier,
    journal: Sequence[Intent],
    now: datetime,
    *,
    prices: Mapping[Tier, float] | None = None,
    ref: str,
) -> EscalationDecision:
    """Decide about escalating one project from its diagnosis, budget, bounds and journal."""
    mine = [i for i in journal if i.project == ref]
    diagnosis = _for_the_budget(diagnosis, budget, policy)
    blocked = _blocked_by_journal(mine, policy, now) or _not_fixable(diagnosis, budget, policy)
    if blocked:
        return _none(blocked)
    demand = budget.throughput_mbps if budget is not None and diagnosis.kind in IO_KINDS else 0.0
    target, why_not = _target(current_tier, demand, policy, prices, holds=diagnosis.holds)
    if target is None:
        return _none(why_not)
    delta = round(monthly_price(target, prices) - monthly_price(current_tier, prices), 2)
    summary = (
        f"raise {current_tier} -> {target} ({'+' if delta >= 0 else '-'}${abs(delta):.2f}/month)"
    )
    what = f"{diagnosis.kind}: {summary}"
    command = f"sbwatch escalate {ref} --to {target}"
    if policy.mode is EscalationMode.OFF:
        return EscalationDecision(
            "none", target, f"escalation off; would {what}", None, delta, summary
        )
    if policy.mode is EscalationMode.ASK:
        return EscalationDecision("ask", target, f"{what}; run: {command}", command, delta, summary)
    if diagnosis.kind is DiagnosisKind.MEMORY_EXHAUSTED and diagnosis.leaking:
        # A leak grows on any size: a bigger one only puts the OOM off, and the OOM's restart
        # is no longer than the resize's own. Proposed, for the time it buys; never raised.
        why = f"{what}; a leak: a bigger size only puts the OOM off; run if worth it: {command}"
        return EscalationDecision("ask", target, why, command, delta, summary)
    if diagnosis.kind in HOST_KINDS and diagnosis.ahead:
        # Memory or CPU short while the services answer: a resize restarts them as an OOM
        # would, and the use may ease. Proposed; raised once the services fail from it.
        why = f"{what}; raised once the services fail; run now: {command}"
        return EscalationDecision("ask", target, why, command, delta, summary)
    return EscalationDecision("escalate", target, what, command, delta, summary)


def _blocked_by_journal(mine: Sequence[Intent], policy: EscalationSettings, now: datetime) -> str:
    """Why the journal forbids a new change now ("" when it does not)."""
    for intent in mine:
        if intent.state in UNFINISHED:
            return (
                f"intent #{intent.id} ({intent.from_tier} -> {intent.to_tier}) is still "
                f"{intent.state}; waiting for it to finish"
            )
    changed = [i.updated_at for i in mine if i.state in CHANGED]
    if changed:
        left = policy.cooldown - (now - max(changed))
        if left > timedelta(0):
            return f"cooldown after the last change: {format_duration(left.total_seconds())} left"
    failed = [i for i in mine if i.state is IntentState.FAILED]
    if failed:
        last = max(failed, key=lambda i: i.updated_at)
        # 429 or 5xx: Retry-After was waited out before it was found not applied
        pause = UNTAKEN_RETRY if last.detail == NOT_APPLIED else FAILED_RETRY
        left = min(policy.cooldown, pause) - (now - last.updated_at)
        if left > timedelta(0):
            return f"the last change was refused; retry in {format_duration(left.total_seconds())}"
    return ""


def _for_the_budget(
    diagnosis: Diagnosis, budget: BudgetEstimate | None, policy: EscalationSettings
) -> Diagnosis:
    """Memory or CPU that sbwatch only proposes a size for (a leak, or short while the
    services answer) never holds back a raise the IO budget needs now: then the decision is
    the budget's."""
    host_asks = diagnosis.kind in HOST_KINDS and (diagnosis.ahead or diagnosis.leaking)
    if not host_asks or budget is None:
        return diagnosis
    as_budget = replace(diagnosis, kind=DiagnosisKind.IO_BUDGET_LOW, holds=None, leaking=False)
    return as_budget if not _not_fixable(as_budget, budget, policy) else diagnosis


def _not_fixable(
    diagnosis: Diagnosis, budget: BudgetEstimate | None, policy: EscalationSettings
) -> str:
    """Why a bigger compute size would not help ("" when it would)."""
    if diagnosis.kind not in FIXABLE:
        return f"{diagnosis.kind}: a bigger compute size does not fix this"
    if diagnosis.kind in IO_KINDS and budget is not None and refilling(budget):
        return (
            f"{diagnosis.kind}: budget {budget.ratio:.0%} left and refilling (the load is under "
            "the baseline); a bigger size buys nothing"
        )
    if diagnosis.kind is not DiagnosisKind.IO_BUDGET_LOW:
        return ""
    if budget is None:
        return (
            "io_budget_low without a budget estimate (an email alone is not enough): check budget"
        )
    if budget.ratio <= EXHAUSTED_RATIO and not budget.load_known:
        # The services answer and no load is measured yet: the next scrape (a minute) tells
        # a budget draining from one refilling, and a raise bought now may buy nothing.
        return f"io_budget_low: budget {budget.ratio:.0%} left; the load is not measured yet"
    if budget.ratio <= EXHAUSTED_RATIO:
        return ""
    lead = raise_lead_s(budget, policy)
    if not draining_now(budget):
        return f"io_budget_low: budget {budget.ratio:.0%} left and nothing drains it now"
    if budget.eta_s is not None and budget.eta_s <= lead:
        return ""
    eta = "not draining" if budget.eta_s is None else f"runs out in {format_duration(budget.eta_s)}"
    return (
        f"io_budget_low: budget {budget.ratio:.0%} left, {eta}; raising "
        f"{format_duration(lead)} before it runs out"
    )


def draining_now(budget: BudgetEstimate) -> bool:
    """Whether the last interval's load is above the size's baseline: a drain going on now,
    not a spike already over that the smoothed rate still remembers."""
    s = spec(budget.tier)
    if budget.limited_by == "iops":
        return budget.iops > s.baseline_iops
    return budget.throughput_mbps > s.baseline_mbps


def raise_lead_s(budget: BudgetEstimate, policy: EscalationSettings) -> float:
    """How long before the budget runs out a raise is due (seconds).

    Just in time: the resize and a margin, stretched by the forecast's own error (a figure
    known to 40% is acted on 40% earlier), never earlier than ``escalate_within``. Raising
    sooner throws away the rest of the old size's budget, and the new size's with it when
    the burst outlasts both. In ``ask`` mode a person makes the change: ``escalate_within``.
    """
    most = policy.escalate_within.total_seconds()
    if policy.mode is not EscalationMode.AUTO:
        return most
    error = min(MAX_FORECAST_ERROR, max(0.0, 1.0 - budget.confidence))
    return min(most, (RESIZE_S + RAISE_MARGIN_S) / (1.0 - error))


def will_raise(
    budget: BudgetEstimate | None,
    policy: EscalationSettings,
    current: Tier,
    *,
    prices: Mapping[Tier, float] | None = None,
) -> Tier | None:
    """The size sbwatch raises to by itself before this budget runs out (None: it will not,
    or nothing runs out)."""
    if budget is None or not spec(current).has_burst_budget or policy.mode is not _AUTO:
        return None
    if budget.eta_s is None and budget.ratio > EXHAUSTED_RATIO:
        return None
    return _target(current, budget.throughput_mbps, policy, prices)[0]


def beyond_reach(
    budget: BudgetEstimate | None,
    policy: EscalationSettings,
    current: Tier,
    *,
    prices: Mapping[Tier, float] | None = None,
    ref: str,
) -> str:
    """For a budget forecast to run out: why sbwatch will not raise the size itself, and the
    exact command that would ("" when it will, or nothing runs out)."""
    if budget is None or not spec(current).has_burst_budget:
        return ""
    if budget.eta_s is None and not used_up_now(budget):
        return ""
    if will_raise(budget, policy, current, prices=prices) is not None:
        return ""
    target, why_not = _target(current, budget.throughput_mbps, policy, prices)
    if target is None:
        target = next_tier(current)
        if target is None:
            return f"sbwatch cannot raise it: {why_not}."
    else:
        why_not = f"escalation mode is {policy.mode}"
    return (
        f"sbwatch will not raise the size itself ({why_not}). "
        f"Run: sbwatch escalate {ref} --to {target}"
    )


def _target(
    current: Tier,
    demand_mbps: float,
    policy: EscalationSettings,
    prices: Mapping[Tier, float] | None,
    *,
    holds: Tier | None = None,
) -> tuple[Tier | None, str]:
    """The size to raise to within max_tier, max_steps and the cost cap, or why there is none.

    ``holds``: memory or CPU, the smallest size that holds the use; none smaller is proposed,
    and one out of reach is said with what stops it."""
    steps: list[Tier] = []
    tier: Tier | None = current
    while len(steps) < policy.max_steps:
        tier = next_tier(tier) if tier is not None else None
        if tier is None or rank(tier) > rank(policy.max_tier):
            break
        steps.append(tier)
    if not steps:
        return None, f"already at {current}; max_tier is {policy.max_tier}"
    affordable = [t for t in steps if monthly_price(t, prices) <= policy.monthly_cost_cap_usd]
    if not affordable:
        cost = monthly_price(steps[0], prices)
        return None, (
            f"{steps[0]} costs ${cost:.2f}/month, over the cap of "
            f"${policy.monthly_cost_cap_usd:.2f}/month"
        )
    if holds is not None:
        return _holding(current, holds, steps, affordable, policy, prices)
    for tier in affordable:  # disk IO: the smallest size whose baseline carries the demand
        if spec(tier).baseline_mbps >= demand_mbps:
            return tier, ""
    return affordable[-1], ""


def _holding(
    current: Tier,
    holds: Tier,
    steps: Sequence[Tier],
    affordable: Sequence[Tier],
    policy: EscalationSettings,
    prices: Mapping[Tier, float] | None,
) -> tuple[Tier | None, str]:
    """Memory or CPU: ``holds`` when within reach, else why not."""
    if holds in affordable:
        return holds, ""
    if holds in steps or rank(holds) <= rank(policy.max_tier):
        if holds not in steps:
            return None, (
                f"{holds} is {rank(holds) - rank(current)} sizes up; max_steps is "
                f"{policy.max_steps}"
            )
        cost = monthly_price(holds, prices)
        return None, (
            f"{holds} costs ${cost:.2f}/month, over the cap of "
            f"${policy.monthly_cost_cap_usd:.2f}/month"
        )
    return None, f"{holds} is above max_tier {policy.max_tier}"
