"""The compute size: the one command a person runs to change a size (``sbwatch escalate``),
why a size is raised or held, the notices of a change and of its outcome, a change made
outside sbwatch (the weekly right-sizing plan is said in ``words.plan``)."""

from __future__ import annotations

from sbwatch.core.durations import format_duration
from sbwatch.core.tiers import Tier
from sbwatch.policy.escalation import Bound, EscalationDecision, Limit, Reach, Reason, Why

# --- the command -------------------------------------------------------------------------


ESCALATE = "sbwatch escalate"
"""The command that changes a size by hand, through the daemon's journal and lock."""


def escalate_command(ref: str, *, tier: Tier | None = None, disk_gb: int | None = None) -> str:
    """The exact command a person runs to raise the compute size (``tier``) or grow the disk
    (``disk_gb``): the one place it is written."""
    if tier is not None:
        return f"{ESCALATE} {ref} --to {tier}"
    assert disk_gb is not None, "a size or a disk size"
    return f"{ESCALATE} {ref} --disk-gb {disk_gb}"


# --- the compute size --------------------------------------------------------------------


def summary(decision: EscalationDecision) -> str:
    """The proposed change in a few words ("raise micro -> small (+$5.23/month)")."""
    delta = decision.monthly_cost_delta_usd or 0.0
    sign = "+" if delta >= 0 else "-"
    return f"raise {decision.current} -> {decision.target} ({sign}${abs(delta):.2f}/month)"


def bound_text(bound: Bound) -> str:
    """Which bound keeps sbwatch from a size, with its figures."""
    match bound.limit:
        case Limit.MAX_TIER:
            return f"already at {bound.tier}; max_tier is {bound.max_tier}"
        case Limit.COST_CAP:
            return (
                f"{bound.tier} costs ${bound.cost_usd:.2f}/month, over the cap of "
                f"${bound.cap_usd:.2f}/month"
            )
        case Limit.MAX_STEPS:
            return f"{bound.tier} is {bound.steps} sizes up; max_steps is {bound.max_steps}"
        case Limit.ABOVE_MAX_TIER:
            return f"{bound.tier} is above max_tier {bound.max_tier}"
        case Limit.MODE:
            return f"escalation mode is {bound.mode}"


def _held(reason: Reason) -> str:
    """Why no change is made or asked (the reasons without a proposed size)."""
    match reason.why:
        case Why.UNFINISHED:
            intent = reason.intent
            assert intent is not None
            return (
                f"intent #{intent.id} ({intent.from_tier} -> {intent.to_tier}) is still "
                f"{intent.state}; waiting for it to finish"
            )
        case Why.COOLDOWN:
            return f"cooldown after the last change: {format_duration(reason.left_s)} left"
        case Why.REFUSED:
            return f"the last change was refused; retry in {format_duration(reason.left_s)}"
        case Why.NOT_FIXABLE:
            return f"{reason.kind}: a bigger compute size does not fix this"
        case Why.REFILLING:
            return (
                f"{reason.kind}: budget {reason.ratio:.0%} left and refilling (the load is under "
                "the baseline); a bigger size buys nothing"
            )
        case Why.NO_ESTIMATE:
            return (
                f"{reason.kind} without a budget estimate (an email alone is not enough): "
                "check budget"
            )
        case Why.LOAD_UNKNOWN:
            return f"{reason.kind}: budget {reason.ratio:.0%} left; the load is not measured yet"
        case Why.NOT_DRAINING:
            return f"{reason.kind}: budget {reason.ratio:.0%} left and nothing drains it now"
        case Why.NOT_DUE:
            eta = (
                "not draining"
                if reason.eta_s is None
                else f"runs out in {format_duration(reason.eta_s)}"
            )
            return (
                f"{reason.kind}: budget {reason.ratio:.0%} left, {eta}; raising "
                f"{format_duration(reason.lead_s)} before it runs out"
            )
        case Why.CONFIRMING:
            return (
                f"{reason.kind}: budget {reason.ratio:.0%} left, runs out in "
                f"{format_duration(reason.eta_s or 0.0)}; raising once a minute's reading "
                "shows the load still draining it"
            )
        case Why.SLOWED:
            return (
                f"{reason.kind}: budget {reason.ratio:.0%} left; the load is "
                f"{reason.load_over:.2f}x the baseline, which held there is served slower, not "
                "refused; raising if the services fail from it"
            )
        case Why.SEE_FIRST:
            eta = "" if reason.eta_s is None else f", runs out in {format_duration(reason.eta_s)}"
            return (
                f"{reason.kind}: budget {reason.ratio:.0%} left{eta}; the load is "
                f"{reason.load_over:.2f}x the published baseline, a minimum the true one may "
                "carry: raising once the disks are seen holding it back"
            )
        case Why.NOT_SPENT:
            return (
                f"{reason.kind}: the estimate reads empty, yet the disks serve above the "
                "published baseline: the true budget is not spent, a bigger size buys nothing yet"
            )
        case Why.BOUND:
            assert reason.bound is not None
            return bound_text(reason.bound)
        case _:
            raise ValueError(f"{reason.why} proposes a size")


def decision_reason(decision: EscalationDecision, ref: str) -> str:
    """Why, in one line: for the journal, the logs and the phone."""
    reason = decision.reason
    if decision.target is None or reason.why not in _PROPOSING:
        return _held(reason)
    what = f"{reason.kind}: {summary(decision)}"
    command = escalate_command(ref, tier=decision.target)
    match reason.why:
        case Why.ASK:
            return f"{what}; run: {command}"
        case Why.LEAK:
            return (
                f"{what}; a leak: a bigger size only puts the OOM off; run if worth it: {command}"
            )
        case Why.AHEAD:
            return f"{what}; raised once the services fail; run now: {command}"
        case Why.OFF:
            return f"escalation off; would {what}"
        case Why.MAINTENANCE:
            until = f"{reason.until:%Y-%m-%d %H:%M} UTC"
            return (
                f"maintenance until {until} ({reason.window}): no change now; "
                f"would {summary(decision)}"
            )
        case _:
            return what


_PROPOSING = frozenset({Why.RAISE, Why.ASK, Why.LEAK, Why.AHEAD, Why.OFF, Why.MAINTENANCE})
"""The reasons that come with a proposed size."""


def reach_line(reach: Reach | None, ref: str) -> str:
    """For a budget forecast to run out: why sbwatch will not raise the size itself, and the
    exact command that would ("" when it will, or nothing runs out)."""
    if reach is None:
        return ""
    why_not = bound_text(reach.bound)
    if reach.target is None:
        return f"sbwatch cannot raise it: {why_not}."
    return (
        f"sbwatch will not raise the size itself ({why_not}). "
        f"Run: {escalate_command(ref, tier=reach.target)}"
    )


def not_raised_title(target: Tier) -> str:
    """A compute change that did not go through."""
    return f"could not raise compute to {target}"


def not_raised_body(detail: str, ref: str, target: Tier, *, again: bool) -> str:
    """What went wrong, whether sbwatch tries again (``again``: the API did not take it) and
    the command to make the change by hand."""
    retry = (
        "The Management API did not take it; sbwatch tries again as soon as it "
        "allows, while the change is needed.\n"
        if again
        else ""
    )
    return f"{detail}\n{retry}Run: {escalate_command(ref, tier=target)}"


def raising_title(from_tier: Tier, to_tier: Tier, delta_usd: float | None) -> str:
    """The notice of a compute change sbwatch makes."""
    return f"raising compute {from_tier} -> {to_tier} (+${delta_usd or 0.0:.2f}/month)"


def raising_body(reason: str, outlook: str) -> str:
    """Why sbwatch raises the size, what the resize does, and what to expect after it."""
    lines = [
        reason,
        "Services restart during the resize (about 2 minutes); sbwatch watches the recovery.",
        outlook,
    ]
    return "\n".join(line for line in lines if line)


def outlook_line(
    target: Tier,
    *,
    ref: str,
    now: float,
    iops: bool,
    baseline: float,
    eta_s: float | None,
    beyond: Tier | None,
    max_tier: Tier,
) -> str:
    """What to expect on ``target`` at the current load (``now``: IOPS when ``iops``, else
    MB/s); ``beyond``: the next size, when ``target`` is max_tier and one is left."""
    unit = "IOPS" if iops else "MB/s"
    current = f"At the current {now:.0f} {unit}"
    if eta_s is None:
        return f"{current}, {target}'s baseline of {baseline:g} {unit} carries it."
    held = "IO operations are" if iops else "throughput is"
    line = (
        f"{current}, {target}'s IO budget lasts about "
        f"{format_duration(eta_s)}; then {held} held at {baseline:g} {unit}."
    )
    if beyond is not None:
        line += f" max_tier is {max_tier}; to go further, run: {escalate_command(ref, tier=beyond)}"
    return line


def unrecovered_title(timeout_s: float, to_tier: Tier) -> str:
    """A change made whose services are still failing after the verification's timeout."""
    return f"still unhealthy {format_duration(timeout_s)} after raising compute to {to_tier}"


UNRECOVERED_BODY = "sbwatch will not change the size again by itself. Check the dashboard."


def recovered_title(to_tier: Tier, recovered_s: float) -> str:
    """A change made whose services answer again."""
    return f"recovered on {to_tier} in {format_duration(recovered_s)}"


def recovered_note(to_tier: Tier) -> str:
    """Why the open alerts of a project that recovered on its new size close unsaid."""
    return f"closed: recovered on {to_tier}"


def recovered_body(from_tier: Tier, to_tier: Tier) -> str:
    """What the recovery closes."""
    return (
        f"Compute raised {from_tier} -> {to_tier}; services healthy again. "
        "Open alerts of this project are closed."
    )


# --- a change outside sbwatch ------------------------------------------------------------


def changed_outside_title(tier: Tier) -> str:
    """The size changed and nobody in sbwatch asked for it."""
    return f"compute changed to {tier} outside sbwatch"


def changed_outside_body(previous: Tier, tier: Tier) -> str:
    """What the provider reports, and what follows for the estimate."""
    return (
        f"The provider reports {previous} -> {tier}; no change of sbwatch's journal asked "
        f"for it (the dashboard or a colleague?). The IO budget is now estimated on {tier}."
    )
