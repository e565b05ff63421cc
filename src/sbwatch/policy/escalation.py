"""The escalation policy: whether to raise the compute size, to what, and who decides (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from sbwatch.config.settings import EscalationSettings
from sbwatch.core.facts import FactKind
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
from sbwatch.policy.diagnosis import THROTTLE_FACTS, throttle_seen

RESIZE_S = 120.0
"""How long a resize takes: services restart for about two minutes."""
RAISE_MARGIN_S = 180.0
"""Beyond the resize: a close scrape apart (``CLOSE_WATCH_S``), the change's own round trips,
and the estimate's own drift from the truth near the end (within a minute when the published
limits are the true ones)."""
CLOSE_WATCH_S = 60.0
"""While a raise may fall due before the next regular scrape, the disks are read this often
(the provider's metrics update once a minute): the raise is decided on a reading at most this
old, so a burst that ends minutes before the zero buys nothing."""
SLOWED_ONLY = 1.25
"""Held at its baseline, a load up to a quarter above it is served late, not refused:
requests wait seconds in the disks' queue and the services answer (the provider: "slow
responses"). No size is bought for it ahead: one is bought once the services fail from it."""
SEE_FIRST = 2.0
"""Up to twice the baseline, the queue takes a minute and a half or more to make requests time
out, and REST answers a second late or more within a probe of the zero: the throttle is seen
before the services fail (``policy.diagnosis``, the queue building; a scrape showing the disks
held back, when it comes first). The published limits are minimums and the true ones may carry
such a load, so the size is bought once the throttle is seen, not ahead of a zero that may
never come; an estimate run out while the disks still serve above it waits for the same sign."""
SPAN_SLACK = 1.5
"""A reading over more than this many close scrapes' minutes is not a minute's reading."""
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


class Why(StrEnum):
    """Why the escalation policy answers as it does (``alerting.words`` says it in words)."""

    RAISE = "raise"
    """Auto mode: sbwatch makes the change now."""
    ASK = "ask"
    """Ask mode: a person runs the command."""
    LEAK = "leak"
    """A memory leak: a bigger size only puts the OOM off; proposed, never made."""
    AHEAD = "ahead"
    """Memory or CPU short while the services answer: proposed; made once they fail."""
    OFF = "off"
    """Escalation is off: the change it would make."""
    MAINTENANCE = "maintenance"
    """A maintenance window holds the project back: the change it would make."""
    UNFINISHED = "unfinished"
    """An earlier change is still under way."""
    COOLDOWN = "cooldown"
    """Too soon after the last change."""
    REFUSED = "refused"
    """The last change was refused: a pause before the next."""
    NOT_FIXABLE = "not_fixable"
    """A bigger compute size does not cure this diagnosis."""
    REFILLING = "refilling"
    """The budget refills: the load is under the baseline."""
    NO_ESTIMATE = "no_estimate"
    """A low budget said by an email alone, without an estimate."""
    LOAD_UNKNOWN = "load_unknown"
    """Budget read empty before any load is measured: the next scrape tells."""
    NOT_DRAINING = "not_draining"
    """Budget low, but nothing drains it now."""
    NOT_DUE = "not_due"
    """The budget runs out later than a raise is due."""
    CONFIRMING = "confirming"
    """The raise is due on a reading over minutes, which a burst ending within them still
    fills: a close scrape's minute confirms the drain goes on first."""
    SLOWED = "slowed"
    """The load is at most ``SLOWED_ONLY`` times the baseline: held there, it is slowed, not
    refused; raised once the services fail from it."""
    SEE_FIRST = "see_first"
    """The load is at most ``SEE_FIRST`` times the baseline: raised once the throttle is seen."""
    NOT_SPENT = "not_spent"
    """The estimate reads empty, yet the disks serve above the baseline: not spent."""
    BOUND = "bound"
    """No size within the bounds (``Bound`` says which)."""


class Limit(StrEnum):
    """Which bound keeps sbwatch from a size."""

    MAX_TIER = "max_tier"
    """Already at max_tier."""
    COST_CAP = "cost_cap"
    """The next size costs more than the monthly cap."""
    MAX_STEPS = "max_steps"
    """The size that holds the use is more steps up than max_steps."""
    ABOVE_MAX_TIER = "above_max_tier"
    """The size that holds the use is above max_tier."""
    MODE = "mode"
    """The mode is not auto: sbwatch never makes the change itself."""


@dataclass(frozen=True)
class Bound:
    """Why no size within the bounds: the bound, and the figures behind it."""

    limit: Limit
    tier: Tier
    """The size the bound stops (the current one, for ``MAX_TIER``)."""
    max_tier: Tier | None = None
    cost_usd: float = 0.0
    cap_usd: float = 0.0
    steps: int = 0
    """How many sizes up (``MAX_STEPS``)."""
    max_steps: int = 0
    mode: EscalationMode | None = None


@dataclass(frozen=True)
class Reason:
    """Why: the closed answer and the figures it rests on."""

    why: Why
    kind: DiagnosisKind | None = None
    """The diagnosis the answer is about (None: none was asked about)."""
    intent: Intent | None = None
    """``UNFINISHED``: the change still under way."""
    left_s: float = 0.0
    """``COOLDOWN``, ``REFUSED``: how long until a change may be made."""
    ratio: float = 0.0
    """``REFILLING``, ``LOAD_UNKNOWN``, ``NOT_DRAINING``, ``NOT_DUE``, ``SLOWED``,
    ``SEE_FIRST``: the budget left, 0..1."""
    load_over: float = 0.0
    """``SLOWED``, ``SEE_FIRST``: the load as a multiple of the size's baseline."""
    eta_s: float | None = None
    """``NOT_DUE``: when the budget runs out (None: not draining)."""
    lead_s: float = 0.0
    """``NOT_DUE``: how long before it runs out a raise is due."""
    bound: Bound | None = None
    until: datetime | None = None
    """``MAINTENANCE``: when the window ends."""
    window: str = ""
    """``MAINTENANCE``: the window's own reason, as a person gave it."""


@dataclass(frozen=True)
class EscalationDecision:
    """What to do about the compute size now, and why."""

    action: Literal["none", "ask", "escalate"]
    target: Tier | None
    reason: Reason
    """Why: the whole answer, for logs, the journal and the phone (``alerting.words``)."""
    monthly_cost_delta_usd: float | None = None
    current: Tier | None = None
    """The size the change is from (set with ``target``)."""


@dataclass(frozen=True)
class Reach:
    """A budget forecast to run out that sbwatch will not save itself: which bound stops it,
    and the size a person can raise to (None: there is none)."""

    bound: Bound
    target: Tier | None
    due_s: float
    """How long before the budget runs out the person's change is due (``escalate_within``)."""


def monthly_price(tier: Tier, prices: Mapping[Tier, float] | None) -> float:
    """USD/month of a tier: the provider's listed price when known, else the tier table's."""
    if prices is not None and tier in prices:
        return prices[tier]
    return spec(tier).monthly_usd


def _none(reason: Reason) -> EscalationDecision:
    return EscalationDecision("none", None, reason)


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
    target, bound = _target(current_tier, demand, policy, prices, holds=diagnosis.holds)
    if target is None:
        assert bound is not None
        return _none(Reason(Why.BOUND, diagnosis.kind, bound=bound))
    delta = round(monthly_price(target, prices) - monthly_price(current_tier, prices), 2)
    action: Literal["none", "ask", "escalate"] = "ask"
    if policy.mode is EscalationMode.OFF:
        action, why = "none", Why.OFF
    elif policy.mode is EscalationMode.ASK:
        why = Why.ASK
    elif diagnosis.kind is DiagnosisKind.MEMORY_EXHAUSTED and diagnosis.leaking:
        # A leak grows on any size: a bigger one only puts the OOM off, and the OOM's restart
        # is no longer than the resize's own. Proposed, for the time it buys; never raised.
        why = Why.LEAK
    elif diagnosis.kind in HOST_KINDS and diagnosis.ahead:
        # Memory or CPU short while the services answer: a resize restarts them as an OOM
        # would, and the use may ease. Proposed; raised once the services fail from it.
        why = Why.AHEAD
    else:
        action, why = "escalate", Why.RAISE
    return EscalationDecision(action, target, Reason(why, diagnosis.kind), delta, current_tier)


def _blocked_by_journal(
    mine: Sequence[Intent], policy: EscalationSettings, now: datetime
) -> Reason | None:
    """Why the journal forbids a new change now (None when it does not)."""
    for intent in mine:
        if intent.state in UNFINISHED:
            return Reason(Why.UNFINISHED, intent=intent)
    changed = [i.updated_at for i in mine if i.state in CHANGED]
    if changed:
        left = policy.cooldown - (now - max(changed))
        if left > timedelta(0):
            return Reason(Why.COOLDOWN, left_s=left.total_seconds())
    failed = [i for i in mine if i.state is IntentState.FAILED]
    if failed:
        last = max(failed, key=lambda i: i.updated_at)
        # 429 or 5xx: Retry-After was waited out before it was found not applied
        pause = UNTAKEN_RETRY if last.detail == NOT_APPLIED else FAILED_RETRY
        left = min(policy.cooldown, pause) - (now - last.updated_at)
        if left > timedelta(0):
            return Reason(Why.REFUSED, left_s=left.total_seconds())
    return None


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
) -> Reason | None:
    """Why a bigger compute size would not help (None when it would)."""
    kind = diagnosis.kind
    if kind not in FIXABLE:
        return Reason(Why.NOT_FIXABLE, kind)
    if kind in IO_KINDS and budget is not None and refilling(budget):
        return Reason(Why.REFILLING, kind, ratio=budget.ratio)
    if kind is not DiagnosisKind.IO_BUDGET_LOW:
        return None
    if budget is None:
        return Reason(Why.NO_ESTIMATE, kind)
    if not budget.load_known:
        # The services answer and no load is measured yet (or since a scrape gap): the next
        # scrape (a minute) tells a budget draining from one refilling, and a raise bought
        # now may buy nothing.
        return Reason(Why.LOAD_UNKNOWN, kind, ratio=budget.ratio)
    over = budget.load_over
    # The services answer (failing from it, the diagnosis would be the used-up budget). Seen
    # held at the baseline, the budget is spent whatever the estimate still reads.
    seen = throttle_seen(diagnosis)
    spent = budget.ratio <= EXHAUSTED_RATIO or seen
    if not spent and not draining_now(budget):
        return Reason(Why.NOT_DRAINING, kind, ratio=budget.ratio)
    if over <= SLOWED_ONLY:
        return Reason(Why.SLOWED, kind, ratio=budget.ratio, load_over=over)
    if spent:
        if over <= SEE_FIRST and budget.overdrawn and not seen:
            return Reason(Why.NOT_SPENT, kind, ratio=budget.ratio)
        if (
            budget.ratio > EXHAUSTED_RATIO
            and _minutes_long(budget, policy)
            and _held_only(diagnosis)
        ):
            # a burst ending within the reading can average to a baseline: a minute tells
            return Reason(Why.CONFIRMING, kind, ratio=budget.ratio, eta_s=budget.eta_s)
        return None
    if over <= SEE_FIRST:
        return Reason(Why.SEE_FIRST, kind, ratio=budget.ratio, eta_s=budget.eta_s, load_over=over)
    lead = raise_lead_s(budget, policy)
    if budget.eta_s is not None and budget.eta_s <= lead:
        if _minutes_long(budget, policy):
            return Reason(Why.CONFIRMING, kind, ratio=budget.ratio, eta_s=budget.eta_s)
        return None
    return Reason(Why.NOT_DUE, kind, ratio=budget.ratio, eta_s=budget.eta_s, lead_s=lead)


def _minutes_long(budget: BudgetEstimate, policy: EscalationSettings) -> bool:
    """Whether sbwatch would raise on a reading over minutes (a regular scrape minutes
    apart), which a close scrape's minute can confirm first."""
    return policy.mode is _AUTO and budget.span_s > CLOSE_WATCH_S * SPAN_SLACK


def _held_only(diagnosis: Diagnosis) -> bool:
    """Whether the throttle is seen only as the disks' throughput at a baseline, without the
    disks waited on or REST answering late."""
    kinds = {fact.kind for fact in diagnosis.evidence}
    return FactKind.THROTTLED_LOW in kinds and not kinds & (
        THROTTLE_FACTS - {FactKind.THROTTLED_LOW}
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


def watch_closely(
    budget: BudgetEstimate | None, policy: EscalationSettings, current: Tier, interval_s: float
) -> bool:
    """Whether sbwatch's own raise may fall due before the next scrape ``interval_s`` away:
    then the disks are read every ``CLOSE_WATCH_S`` until it is decided. A size it will not
    raise by itself (ask mode, max_tier, the cost cap) keeps its cadence."""
    if budget is None or budget.eta_s is None or will_raise(budget, policy, current) is None:
        return False
    return budget.eta_s <= raise_lead_s(budget, policy) + interval_s


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
) -> Reach | None:
    """For a budget forecast to run out: why sbwatch will not raise the size itself, and the
    size a person can raise to (None when it will, or nothing runs out)."""
    if budget is None or not spec(current).has_burst_budget:
        return None
    if budget.eta_s is None and not used_up_now(budget):
        return None
    if will_raise(budget, policy, current, prices=prices) is not None:
        return None
    target, bound = _target(current, budget.throughput_mbps, policy, prices)
    due = policy.escalate_within.total_seconds()
    if target is None:
        assert bound is not None
        return Reach(bound, next_tier(current), due)
    return Reach(Bound(Limit.MODE, target, mode=policy.mode), target, due)


def _target(
    current: Tier,
    demand_mbps: float,
    policy: EscalationSettings,
    prices: Mapping[Tier, float] | None,
    *,
    holds: Tier | None = None,
) -> tuple[Tier | None, Bound | None]:
    """The size to raise to within max_tier, max_steps and the cost cap, or the bound that
    leaves none.

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
        return None, Bound(Limit.MAX_TIER, current, max_tier=policy.max_tier)
    affordable = [t for t in steps if monthly_price(t, prices) <= policy.monthly_cost_cap_usd]
    if not affordable:
        return None, _over_cap(steps[0], policy, prices)
    if holds is not None:
        return _holding(current, holds, steps, affordable, policy, prices)
    for tier in affordable:  # disk IO: the smallest size whose baseline carries the demand
        if spec(tier).baseline_mbps >= demand_mbps:
            return tier, None
    return affordable[-1], None


def _over_cap(tier: Tier, policy: EscalationSettings, prices: Mapping[Tier, float] | None) -> Bound:
    cost = monthly_price(tier, prices)
    return Bound(Limit.COST_CAP, tier, cost_usd=cost, cap_usd=policy.monthly_cost_cap_usd)


def _holding(
    current: Tier,
    holds: Tier,
    steps: Sequence[Tier],
    affordable: Sequence[Tier],
    policy: EscalationSettings,
    prices: Mapping[Tier, float] | None,
) -> tuple[Tier | None, Bound | None]:
    """Memory or CPU: ``holds`` when within reach, else the bound that stops it."""
    if holds in affordable:
        return holds, None
    if holds in steps or rank(holds) <= rank(policy.max_tier):
        if holds not in steps:
            up = rank(holds) - rank(current)
            return None, Bound(Limit.MAX_STEPS, holds, steps=up, max_steps=policy.max_steps)
        return None, _over_cap(holds, policy, prices)
    return None, Bound(Limit.ABOVE_MAX_TIER, holds, max_tier=policy.max_tier)
