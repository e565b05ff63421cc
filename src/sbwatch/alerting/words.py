"""Every title and body a phone gets about the compute size, the disk and the IO budget, and
the one command a person runs to change a size (``sbwatch escalate``).

Policy answers with closed reasons and their figures (``policy.escalation.Reason``,
``policy.disk.DiskReason``); this module says them in words, for the phone, the journal and
the logs alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sbwatch.alerting.messages import Message, Target, one_line
from sbwatch.core.connections import DIRECT, POOLER, REST
from sbwatch.core.durations import format_duration, moment_after
from sbwatch.core.oncall import MaintenanceWindow
from sbwatch.core.results import (
    Alert,
    BudgetEstimate,
    DataCheckKind,
    DataCheckResult,
    Diagnosis,
    DiagnosisKind,
    ProviderEmail,
    Verdict,
)
from sbwatch.core.tiers import Tier, spec
from sbwatch.policy.auth_limits import AuthAssessment
from sbwatch.policy.backup import BackupHealth
from sbwatch.policy.budget import reads_used_up, refilling
from sbwatch.policy.connections import POOL_NAMES, ConnAssessment, pool_line
from sbwatch.policy.credentials import ExpiryNotice
from sbwatch.policy.disk import DiskDecision, DiskForecast, DiskReason, DiskWhy
from sbwatch.policy.escalation import Bound, EscalationDecision, Limit, Reach, Reason, Why
from sbwatch.policy.plan import Plan, and_words
from sbwatch.supabase.auth_limits import (
    AUTH_CONFIG_PATH,
    BUILTIN_SMTP_PER_HOUR,
    AuthConfig,
    route_limit,
)
from sbwatch.supabase.connections import POOLER_CONFIG_PATH, bigger_limit, size_limit
from sbwatch.supabase.disk import CHANGES_PER_WINDOW, GB, SPEND_CAP_GB

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


def recovered_body(from_tier: Tier, to_tier: Tier) -> str:
    """What the recovery closes."""
    return (
        f"Compute raised {from_tier} -> {to_tier}; services healthy again. "
        "Open alerts of this project are closed."
    )


# --- the disk ----------------------------------------------------------------------------


def _when(at: datetime) -> str:
    return f"{at:%a %H:%M} UTC"


def disk_change(decision: DiskDecision) -> str:
    """The proposed disk change in a few words."""
    delta = decision.monthly_cost_delta_usd or 0.0
    return f"grow the disk {decision.current_gb} -> {decision.target_gb} GB (+${delta:.2f}/month)"


def disk_reason(decision: DiskDecision) -> str:
    """Why, in one line: for the journal, the logs and the phone."""
    reason = decision.reason
    match reason.why:
        case DiskWhy.GROW | DiskWhy.ASK:
            return disk_change(decision)
        case DiskWhy.OFF:
            return f"escalation off; would {disk_change(decision)}"
        case DiskWhy.MAX_GB:
            return f"the disk is {decision.current_gb} GB; max_gb is {reason.max_gb}"
        case _:
            return _disk_held(reason)


def _disk_held(reason: DiskReason) -> str:
    match reason.why:
        case DiskWhy.SIZE_UNKNOWN:
            return "disk size unknown"
        case DiskWhy.NOT_AHEAD:
            return "no read-only ahead within the horizon"
        case DiskWhy.UNDER_WAY:
            return "a disk change is under way"
        case DiskWhy.QUOTA_SPENT:
            frees = reason.frees_at
            when = f"; the next is allowed at {_when(frees)}" if frees else ""
            return (
                f"the quota of {CHANGES_PER_WINDOW} disk changes in 24 h is spent{when}: a change "
                "now would be refused"
            )
        case DiskWhy.SPEND_CAP:
            return f"the spend cap holds the disk at {SPEND_CAP_GB} GB: turn it off"
        case DiskWhy.FAILED:
            return f"the last disk change failed; retry in {format_duration(reason.left_s)}"
        case DiskWhy.COOLDOWN:
            return f"cooldown after the last change: {format_duration(reason.left_s)}"
        case DiskWhy.COST_CAP:
            return (
                f"a bigger disk costs more than the cap of ${reason.cap_usd:.2f}/month "
                f"with compute at ${reason.compute_usd:.2f}/month"
            )
        case _:
            raise ValueError(f"{reason.why} proposes a size")


def disk_title(fc: DiskForecast) -> str:
    """One line: how full, and when the database goes read-only."""
    if fc.read_only_eta_s == 0:
        return f"database read-only: disk {fc.used_ratio:.0%} full"
    if fc.read_only_eta_s is None:
        return f"disk {fc.used_ratio:.0%} full"
    return (
        f"disk {fc.used_ratio:.0%} full: database read-only in "
        f"~{format_duration(fc.read_only_eta_s)}"
    )


def cannot_grow(fc: DiskForecast) -> str:
    """Why the provider will not grow the disk in time ("" when nothing stops it)."""
    if fc.blocked_by == "spend_cap":
        return (
            f"The organization's spend cap holds the disk at {SPEND_CAP_GB} GB: turn the spend "
            "cap off, or free space."
        )
    if fc.blocked_by != "quota":
        return ""
    frees = fc.frees_at or fc.quota.frees_at
    until = f"; the next change is allowed at {_when(frees)}" if frees is not None else ""
    after = (
        f" after {fc.autoscales} more autoscale{'s' if fc.autoscales != 1 else ''}"
        if fc.autoscales
        else ""
    )
    return (
        f"The provider cannot grow it: its quota of {CHANGES_PER_WINDOW} disk changes in 24 h "
        f"is spent{after}{until}."
    )


def disk_lines(fc: DiskForecast, decision: DiskDecision | None, ref: str) -> list[str]:
    """The facts and the lever, one line each."""
    used, size = fc.used_bytes / GB, fc.size_bytes / GB
    rate = fc.rate_bytes_s
    filling = f", filling {rate * 3600 / GB:.2f} GB/h" if rate is not None and rate > 0 else ""
    lines = [f"/data: {used:.1f} of {size:.0f} GB used{filling}."]
    if fc.quota.used:
        lines.append(
            f"{fc.quota.used} of the {CHANGES_PER_WINDOW} disk changes the provider allows in "
            "24 h made."
        )
    if fc.read_only_eta_s == 0:
        lines.append("Writes fail (cannot execute ... in a read-only transaction).")
    else:
        lines.append(
            "The provider grows the disk by 50% at 90% full; at 95% with no growth possible "
            "the database goes read-only."
        )
    blocked = cannot_grow(fc)
    if blocked:
        lines.append(blocked)
    lines += lever_lines(decision, ref)
    return lines


def lever_lines(decision: DiskDecision | None, ref: str) -> list[str]:
    """What sbwatch proposes or why it does not grow the disk itself."""
    if decision is None:
        return []
    if decision.action == "ask" and decision.target_gb is not None:
        command = escalate_command(ref, disk_gb=decision.target_gb)
        return [f"Proposed: {disk_reason(decision)}", f"Run: {command}"]
    if decision.action == "none" and decision.reason.why is DiskWhy.QUOTA_SPENT:
        return ["sbwatch cannot grow it either until then: a disk change now would be refused."]
    if decision.action == "none" and decision.target_gb is not None:
        return [disk_reason(decision)]
    return []


def growing_title(from_gb: int, to_gb: int, delta_usd: float | None) -> str:
    """The notice of a disk change sbwatch makes."""
    return f"growing the disk {from_gb} -> {to_gb} GB (+${delta_usd or 0.0:.2f}/month)"


def growing_body(fc: DiskForecast, decision: DiskDecision) -> str:
    """Why sbwatch grows the disk now."""
    eta = fc.read_only_eta_s
    why = (
        f"Without it the database would go read-only in ~{format_duration(eta)}"
        if eta is not None
        else "The disk is nearly full"
    )
    return "\n".join(
        [
            f"{why}: {cannot_grow(fc) or 'the provider would not grow it in time.'}",
            f"sbwatch makes one change instead ({disk_reason(decision)}); it counts toward the "
            f"provider's {CHANGES_PER_WINDOW} a day.",
        ]
    )


def failed_title(to_gb: int) -> str:
    """A disk change that did not go through."""
    return f"could not grow the disk to {to_gb} GB"


def failed_disk_body(detail: str, ref: str, to_gb: int) -> str:
    """What went wrong with a disk change, and the command to try it by hand."""
    return f"{detail}\nRun: {escalate_command(ref, disk_gb=to_gb)}"


# --- the diagnosis and the IO budget ----------------------------------------------------

_HEADLINE: dict[DiagnosisKind, str] = {
    DiagnosisKind.CPU_EXHAUSTED: "CPU exhausted: services failing",
    DiagnosisKind.MEMORY_EXHAUSTED: "memory exhausted: services failing",
    DiagnosisKind.DISK_FULL: "disk almost full: database read-only",
    DiagnosisKind.CONNECTIONS_EXHAUSTED: "connections exhausted: new connections refused",
    DiagnosisKind.PLATFORM_OUTAGE: "Supabase platform outage (not this project's resources)",
    DiagnosisKind.LOCAL_NETWORK: "sbwatch cannot reach anything: our own network is down",
    DiagnosisKind.PROJECT_PAUSED: "project is paused",
    DiagnosisKind.QUOTA_RESTRICTED: (
        "services restricted by the organization's quota (HTTP 402), not an outage"
    ),
    DiagnosisKind.RESIZING: "compute resize under way: services restart until it ends",
    DiagnosisKind.UNKNOWN: "services failing for an unknown reason",
}

LEAK_LINE = (
    "A leak grows on any size: a bigger one only puts the OOM off, and the OOM's restart is no "
    "longer than a resize's. sbwatch will not raise it itself; find the client that holds the "
    "memory."
)
"""Said beside a leak's proposed size: why it is a proposal, whatever the mode."""
_WAIT = {
    DiagnosisKind.PLATFORM_OUTAGE: (
        "A bigger compute size would not help; sbwatch waits for the provider."
    ),
    DiagnosisKind.LOCAL_NETWORK: "Check the network of the machine running sbwatch.",
    DiagnosisKind.QUOTA_RESTRICTED: (
        "Egress, storage or database size over the billing period's quota restricts every "
        "service of the organization. Deleting data does not lift it: the next billing cycle, "
        "a plan upgrade or turning the spend cap off does. A bigger compute size would not "
        "help; sbwatch changes nothing."
    ),
    DiagnosisKind.RESIZING: (
        "Not an outage: the provider applies a compute change; the budget starts full there."
    ),
}


_AHEAD: dict[DiagnosisKind, str] = {
    DiagnosisKind.MEMORY_EXHAUSTED: "memory running short: the size is too small for the load",
    DiagnosisKind.CPU_EXHAUSTED: "CPU saturated: the size is too small for the load",
}
"""Memory or CPU short while the services still answer."""


def headline(diagnosis: Diagnosis) -> str:
    """One line naming what is wrong (a diagnosis, never a probe name)."""
    if diagnosis.ahead and diagnosis.kind in _AHEAD:
        return _AHEAD[diagnosis.kind]
    if diagnosis.kind is DiagnosisKind.SERVICE_DOWN:
        return f"{diagnosis.service or 'a service'} is down"
    return _HEADLINE.get(diagnosis.kind, diagnosis.kind.value.replace("_", " "))


def budget_title(diagnosis: Diagnosis, budget: BudgetEstimate | None) -> str:
    """The IO budget line: exhausted, or what is left and when it runs out."""
    if diagnosis.kind is DiagnosisKind.IO_BUDGET_EXHAUSTED:
        return "disk IO budget exhausted: services throttled and failing"
    if budget is None:
        return "Supabase warns the disk IO budget is running low"
    if refilling(budget):
        return f"disk IO budget {budget.ratio:.0%} left, refilling (load under the baseline)"
    ops = budget.limited_by == "iops"
    if budget.overdrawn:
        return (
            f"disk IO budget: the estimate ran out, yet {budget.tier} serves "
            f"{budget.throughput_mbps:.0f} MB/s over its published baseline: its limits are "
            "higher, the budget not spent"
        )
    if reads_used_up(budget):  # overdrawn is said above
        held = "IO operations" if ops else "throughput"
        return f"disk IO budget used up: {held} held at the {budget.tier} baseline"
    left = f"disk IO budget {budget.ratio:.0%} left" + (" (IOPS)" if ops else "")
    if budget.eta_s is None:
        return f"{left}, refills every day: not at risk" if budget.refills else left
    when = moment_after(budget.at, budget.eta_s)
    runs_out = f"{left}, runs out in ~{format_duration(budget.eta_s)}"
    if budget.basis == "pattern" and when is not None:
        return f"{runs_out} ({when:%a %H:%M} UTC at this week's pattern)"
    return runs_out


def says_command(diagnosis: Diagnosis, decision: EscalationDecision | None) -> bool:
    """Whether the diagnosis's body gives the command to run."""
    if decision is None:
        return False
    held = decision.action == "none" and decision.target is None
    return decision.action == "ask" or (held and diagnosis.holds is not None)


def condition_body(diagnosis: Diagnosis, decision: EscalationDecision | None) -> str:
    """The diagnosis's body: its evidence, and what sbwatch proposes or why it does not."""
    lines = [*diagnosis.evidence[:4]]
    ref = diagnosis.project
    if diagnosis.kind in _WAIT:
        lines.append(_WAIT[diagnosis.kind])
    if decision is not None and decision.action == "ask" and decision.target is not None:
        if diagnosis.kind is DiagnosisKind.MEMORY_EXHAUSTED and diagnosis.leaking:
            lines.append(LEAK_LINE)
        lines.append(f"Proposed: {summary(decision)}")
        lines.append(f"Run: {escalate_command(ref, tier=decision.target)}")
    elif decision is not None and decision.action == "none" and decision.target is not None:
        lines.append(decision_reason(decision, ref))
    elif decision is not None and decision.action == "none" and diagnosis.holds is not None:
        lines.append(
            f"sbwatch will not raise it itself ({decision_reason(decision, ref)}). "
            f"Run: {escalate_command(ref, tier=diagnosis.holds)}"
        )
    return "\n".join(lines)


def service_title(name: str) -> str:
    """The title of one failing service's own alert."""
    return f"{name} is down"


LEVER_TITLE = "Management API rate limited / failing"
"""The title of the Management API's own trouble."""


def lever_body(lever: str | None) -> str:
    """What the Management API answers, and what waits for it ("" when it answers well)."""
    if not lever:
        return ""
    return (
        f"It answers: {lever}. sbwatch reads the compute size and changes it through it: "
        "a change it needs waits until it answers. The project itself is judged by its own "
        "probes."
    )


def budget_body(budget: BudgetEstimate | None) -> str:
    """The budget's body: the estimate behind the figure and the forecast's basis."""
    if budget is None:
        return ""
    said = (
        f"Estimated from disk throughput {budget.throughput_mbps:.1f} MB/s on {budget.tier} "
        f"(net burn {budget.burn_mbps:+.1f} MB/s, confidence {budget.confidence:.0%})."
    )
    if budget.basis != "current":
        now = (
            "not draining"
            if budget.eta_now_s is None
            else f"runs out in ~{format_duration(budget.eta_now_s)}"
        )
        basis = "a burst above this hour's usual" if budget.basis == "burst" else "the pattern"
        said += f" Forecast from {basis}; at the current rate it {now}."
    if budget.limited_by == "iops":
        said += (
            f" The IO operations balance runs out first: {budget.iops:.0f} IOPS against a "
            f"baseline of {spec(budget.tier).baseline_iops:.0f}."
        )
    if budget.assumed:
        said += f"\n{assumed_line(budget.project)}"
    return said


def assumed_line(ref: str) -> str:
    """What a person reads beside an estimate whose level was never read."""
    return (
        "The level was assumed full when sbwatch began (it cannot read it): the figure is the "
        "most it can be. Pin it with the dashboard's 'Disk IO % consumed': "
        f"sbwatch budget set {ref} PCT"
    )


# --- delivery ----------------------------------------------------------------------------


def undelivered_title(route: str, title: str) -> str:
    """The report of a message a route refused for good, sent to the other routes."""
    return f"sbwatch could not deliver to route {route}: {title}"


def undelivered_body(route: str, reason: str, body: str) -> str:
    """Why the route refused it, how to check the route, and the message itself."""
    return (
        f"Route {route} refused this message for good ({reason}); fix the route "
        f"(`sbwatch alert test {route}`). The message was:\n{body}"
    )


# --- the Management API token ------------------------------------------------------------

_RENEW = (
    "Create a new access token in the dashboard (Account > Access Tokens), put it where "
    "mgmt_token reads it, set mgmt_token_expires to its expiry and restart sbwatch."
)


def expiry_title(notice: ExpiryNotice) -> str:
    """When the token expires, or that it has."""
    if notice.stage == 0:
        return f"the Management API token expired on {notice.expires:%Y-%m-%d}"
    return (
        f"the Management API token expires in {notice.days_left} days ({notice.expires:%Y-%m-%d})"
    )


def expiry_body(notice: ExpiryNotice) -> str:
    """What an expired token stops, and how to renew it."""
    if notice.stage == 0:
        return "sbwatch cannot read the provider's view nor change the compute size. " + _RENEW
    return (
        "Then sbwatch can no longer read the provider's view nor change the compute size. " + _RENEW
    )


# --- the provider's emails, the size and the plan ----------------------------------------


def email_folded_line(email: ProviderEmail) -> str:
    """A trusted email about the budget, as a line of the open budget alert it confirms."""
    return f"Supabase emailed at {email.received_at:%Y-%m-%d %H:%M} UTC: {email.subject}"


def email_title(email: ProviderEmail) -> str:
    """A provider email about a watched project: its subject, and whether it is proven."""
    if email.trusted:
        return f"Supabase emailed: {email.subject}"
    return f"UNVERIFIED email claims: {email.subject}"


def email_body(email: ProviderEmail, budget_left: float | None) -> str:
    """Who sent it and why it is (not) trusted, with sbwatch's own estimate of the budget."""
    estimate = (
        f" sbwatch estimates {budget_left:.0%} of the IO budget left."
        if budget_left is not None
        else ""
    )
    if email.trusted:
        return f"{email.kind.value} from {email.sender} ({email.trust_reason}).{estimate}"
    return (
        f"Unverified: not proven to come from Supabase ({email.trust_reason}); "
        f"not counted as evidence. {email.kind.value} from {email.sender}.{estimate}"
    )


def held_claims_title(count: int) -> str:
    """The unverified emails held back for an hour, grouped."""
    return f"UNVERIFIED email claims: {count:,} more in the last hour"


def unmatched_title(email: ProviderEmail) -> str:
    """An email about a project sbwatch does not watch (or that names none)."""
    named = email.project_ref or email.project_name or "no project"
    who = "Supabase emailed" if email.trusted else "An UNVERIFIED email (not proven Supabase's)"
    return f"{who} about {named}, which sbwatch does not watch: {email.subject}"


def unmatched_body(email: ProviderEmail, watched: Sequence[str]) -> str:
    """Who sent it, the projects watched, and how to name one."""
    return (
        f"{email.kind.value} from {email.sender} ({email.trust_reason}). sbwatch watches "
        f"{', '.join(watched)}; name the project in the config (`name = ...`) if it is one of "
        "them."
    )


def incident_over_title(cause: str, quiet_s: float) -> str:
    """An incident that ends with nothing failing for a while."""
    return f"over: {cause} (nothing failing for {format_duration(quiet_s)})"


def changed_outside_title(tier: Tier) -> str:
    """The size changed and nobody in sbwatch asked for it."""
    return f"compute changed to {tier} outside sbwatch"


def changed_outside_body(previous: Tier, tier: Tier) -> str:
    """What the provider reports, and what follows for the estimate."""
    return (
        f"The provider reports {previous} -> {tier}; no change of sbwatch's journal asked "
        f"for it (the dashboard or a colleague?). The IO budget is now estimated on {tier}."
    )


def plan_title(made: Plan, days: int, now: Tier) -> str:
    """The weekly right-sizing notice: the size that fits the last ``days``."""
    held = and_words(made.limits_held)
    return f"plan: {made.pick} fits the last {days} days of {held} (now {now})"


def plan_body(made: Plan, ref: str) -> str:
    """Which way it fits, what decided it, and that sbwatch never downsizes by itself."""
    smaller = "a smaller size would have held" if made.downgrade else "it needed more"
    decided = and_words(list(made.decided_by))
    return (
        f"Replayed through every size's budget and limits, {smaller}; decided by {decided}. "
        f"sbwatch never downsizes by itself; `sbwatch plan {ref}` shows each size."
    )


# --- the daemon --------------------------------------------------------------------------


def took_over_title(instance: str) -> str:
    """High availability: this instance leads now."""
    return f"sbwatch instance {instance} took over the lead"


def took_over_body(instance: str, epoch: int, previous: str | None) -> str:
    """Under which epoch, and which instance stopped renewing its lease."""
    return f"Instance {instance} leads under epoch {epoch}" + (
        f"; {previous} stopped renewing its lease." if previous else "."
    )


STORE_REPLACED_TITLE = "sbwatch stopped: its state store was replaced"


def store_replaced_body(why: str) -> str:
    """Why sbwatch stopped acting, and what to do."""
    return (
        f"{why}. sbwatch stopped acting so that no second daemon acts beside it; "
        "start it again once the state file is where it belongs."
    )


STORE_AWAY_TITLE = "state store unavailable"


def store_away_body(why: str, direct_after_s: float) -> str:
    """What sbwatch does with alerts and messages while its state store is away."""
    return (
        f"sbwatch cannot write its state store ({why}). Alerts and messages "
        f"are kept in memory and written when it returns; held beyond "
        f"{direct_after_s:.0f}s they are sent directly."
    )


CONFIG_REFUSED_TITLE = "configuration reload refused"


def config_refused_body(problems: Sequence[str]) -> str:
    """The first problems of a refused configuration; the old one keeps running."""
    return "\n".join(problems[:10]) + "\nThe previous configuration keeps running."


# --- connections -------------------------------------------------------------------------


def connections_title(a: ConnAssessment) -> str:
    """One line: the pool, how full, and when a climb fills it."""
    worst = a.worst
    if worst is None:
        return "connections"
    name = POOL_NAMES[worst.pool]
    counts = f"{worst.used:.0f} of {worst.limit:.0f}"
    if worst.full:
        return f"{name} full: {counts}, new connections refused"
    title = f"{name} {worst.ratio:.0%} used ({counts})"
    if worst.full_eta_s:
        title += f": full in ~{format_duration(worst.full_eta_s)}"
    return title


def pool_levers(
    pool: str, tier: Tier, ref: str, top_user: tuple[str, float] | None = None
) -> list[str]:
    """The levers of one full pool: the clients holding it, the pooler's pool size, and a
    bigger size only where it raises that pool's limit."""
    path = POOLER_CONFIG_PATH.format(ref=ref)
    lines = []
    if pool == DIRECT and top_user is not None:
        user, count = top_user
        lines.append(f"{user} holds {count:.0f} of them: close its idle connections.")
    if pool == DIRECT:
        lines.append(
            "Connect clients through the pooler and size its pool: "
            f"PATCH {path} (default_pool_size)."
        )
    elif pool == POOLER:
        lines.append(f"Size the pooler's pool: PATCH {path} (default_pool_size).")
    else:
        lines.append(
            "Slow or stuck requests hold its connections: find and end them; "
            "a bigger size does not raise this pool."
        )
    if pool != REST:
        now = size_limit(tier, pool)
        bigger = bigger_limit(tier, pool)
        if bigger is not None:
            size, limit = bigger
            lines.append(f"A bigger size raises this limit: {size} allows {limit} ({tier} {now}).")
        else:
            lines.append(f"No bigger size raises this limit ({tier} {now}).")
    return lines


def refused_lines(pool: str, tier: Tier, ref: str) -> list[str]:
    """The levers when the db probe was refused for want of room and no scrape shows the pool:
    close idle clients, then the pool's own levers."""
    who = "Postgres" if pool == DIRECT else "The pooler"
    return [
        f"{who} takes no new connections: close idle clients (the ones holding the most).",
        *pool_levers(pool, tier, ref),
        "sbwatch changes nothing itself for connections.",
    ]


def connections_lines(a: ConnAssessment, ref: str) -> list[str]:
    """The facts and the levers, one line each."""
    worst = a.worst
    if worst is None:
        return []
    lines = [f"{pool_line(worst)}."]
    if worst.rate_per_h is not None and worst.rate_per_h > 0 and worst.full_eta_s:
        lines.append(
            f"Climbing {worst.rate_per_h:.0f} an hour: a client opens connections it never closes."
        )
    if worst.pool == REST and worst.timeouts:
        lines.append(f"{worst.timeouts:.0f} requests timed out waiting for a connection.")
    others = [s for s in a.pools if s is not worst and (s.full or s.near)]
    lines += [f"{pool_line(s)}." for s in others]
    lines += pool_levers(worst.pool, a.tier, ref, a.top_user)
    lines.append("sbwatch changes nothing itself for connections.")
    return lines


# --- auth rate limits --------------------------------------------------------------------

SMTP_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP "
    "(smtp_host and its fields, in the same configuration)."
)
SMTP_UNKNOWN_LINE = (
    f"built-in SMTP: {BUILTIN_SMTP_PER_HOUR} emails an hour; set custom SMTP, unless one is "
    "set already (smtp_host and its fields, in the same configuration)."
)


def auth_limits_title(a: AuthAssessment) -> str:
    """One line: the routes refused and how fast."""
    rate = {s.route: s.per_minute for s in a.routes}
    named = ", ".join(f"{r} ({rate.get(r, 0.0):.0f}/min)" for r in a.limited)
    return f"auth rate limited: {named} answering 429"


def _configured(config: AuthConfig | None, setting: str) -> str:
    if config is None:
        return setting
    value = config.limits.get(setting)
    return setting if value is None else f"{setting} (now {value})"


def auth_limits_lines(a: AuthAssessment, ref: str, config: AuthConfig | None) -> list[str]:
    """Each route with its setting and the lever; the SMTP line when it applies."""
    path = AUTH_CONFIG_PATH.format(ref=ref)
    lines = []
    email = False
    for route in a.limited:
        limit = route_limit(route)
        settings = " or ".join(_configured(config, s) for s in limit.settings)
        lines.append(
            f"Auth route {route} is refusing requests (HTTP 429) steadily: governed by {settings}."
        )
        email = email or limit.sends_email
    fields = sorted({s for r in a.limited for s in route_limit(r).settings})
    lines.append(f"Raise it: PATCH {path} with {', '.join(fields)}.")
    if email and config is not None and not config.custom_smtp:
        lines.append(SMTP_LINE)
    elif email and config is None:
        lines.append(SMTP_UNKNOWN_LINE)
    lines.append("Users are being refused; the project is up. sbwatch changes no setting here.")
    return lines


# --- on-call -----------------------------------------------------------------------------


def window_span(window: MaintenanceWindow) -> str:
    """``10:00-10:30 UTC`` within a day, with the dates when it spans days."""
    start, end = window.starts_at, window.ends_at
    if start.date() == end.date():
        return f"{start:%H:%M}-{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def after_maintenance_line(window: MaintenanceWindow) -> str:
    """The line a message sent just after a window begins with."""
    return f"After maintenance {window_span(window)}: {window.reason}"


def after_maintenance(message: Message, window: MaintenanceWindow) -> Message:
    """``message`` naming the window that just ended, first thing in its body."""
    return replace(message, body=f"{after_maintenance_line(window)}\n{message.body}".strip())


def passed_on(alert: Alert, target: Target, paged_at: datetime, now: datetime) -> Message:
    """The message of a critical nobody acknowledged, to the escalation routes."""
    waited = format_duration((now - paged_at).total_seconds())
    lasted = format_duration((now - alert.opened_at).total_seconds())
    lines = [
        f"Nobody acknowledged this page for {waited}: it is passed on to you.",
        *(line.rstrip() for line in alert.body.strip().splitlines() if line.strip()),
        f"Since {alert.opened_at:%Y-%m-%d %H:%M} UTC ({lasted}).",
        f"Take it: sbwatch ack {alert.key}",
    ]
    if target.dashboard_url:
        lines.append(f"Dashboard: {target.dashboard_url}")
    title = f"UNACKNOWLEDGED CRITICAL {target.name}: {one_line(alert.title)} ({lasted})"
    return Message(title, "\n".join(lines))


# --- data checks -------------------------------------------------------------------------


def data_title(check: DataCheckResult) -> str:
    """One line: the table and what is wrong with a data check's table."""
    if check.verdict is Verdict.ERROR:
        return f"data check {check.name} cannot judge {check.table}"
    if check.kind is DataCheckKind.NOT_EMPTY:
        if check.value == 0:
            return f"{check.table} is empty"
        return f"{check.table} was emptied and refilled (delete-then-reinsert?)"
    if check.kind is DataCheckKind.FRESH:
        return f"{check.table} is stale: {check.detail}"
    return f"{check.name}{_on(check)}: {check.detail}"


def _on(check: DataCheckResult) -> str:
    """`` on TABLE``; nothing for a query check, which names no table."""
    return "" if check.table in ("", "-") else f" on {check.table}"


def data_body(check: DataCheckResult) -> str:
    """The check's own account, and which check it is."""
    return f"{check.detail}\nData check {check.name} ({check.kind}){_on(check)}."


# --- backups -----------------------------------------------------------------------------

BACKUP_SKIPPED_TITLE = "backup skipped: the disk IO budget is exhausted"


def backup_skipped_body(waited_s: float) -> str:
    """How long the backup waited for the budget, and when it is tried again."""
    return (
        f"The backup waited {format_duration(waited_s)} for the disk IO budget and was given "
        "up; the next scheduled run tries again."
    )


def backup_message(
    health: BackupHealth, newest: str | None, made: datetime | None, why: str, max_age_s: float
) -> tuple[str, str]:
    """The title and body of the backups' health: stale, a failed restore check or run, or in
    order again; ``why``: the error or the check's finding."""
    when = f"{made:%Y-%m-%d %H:%M} UTC" if made else "never"
    latest = f"Newest backup: {newest or 'none'} ({when})."
    if health is BackupHealth.STALE:
        limit = format_duration(max_age_s)
        return f"no backup for more than {limit}", f"{latest} {why}".strip()
    if health is BackupHealth.VERIFY_FAILED:
        return "backup restore check failed", f"{latest} {why}"
    if health is BackupHealth.FAILED:
        return f"backup failed: {why}", latest
    return "backups are in order again", latest


# --- incidents ---------------------------------------------------------------------------


def incident_resolved_title(name: str, cause: str, lasted_s: float) -> str:
    """The title of the message that ends an incident with a resolve: its cause."""
    return f"RESOLVED {name}: {cause} (lasted {format_duration(lasted_s)})"


def who(actor: str) -> str:
    """Who made a compute change: sbwatch itself, or a person with ``sbwatch escalate``."""
    if actor.startswith("daemon"):
        return "sbwatch"
    return f"{actor.removeprefix('cli:')} ({ESCALATE})"


def raised_event(from_tier: Tier, to_tier: Tier, actor: str) -> str:
    """An incident's line: a compute change made, and by whom."""
    return f"compute raised {from_tier} -> {to_tier} by {who(actor)}"


def failed_event(to_tier: Tier, detail: str) -> str:
    """An incident's line: a compute change that did not go through."""
    return f"raise to {to_tier} failed: {detail}"


def recovered_event(to_tier: Tier, recovered_s: float) -> str:
    """An incident's line: healthy again on the new size."""
    return f"healthy on {to_tier} in {format_duration(recovered_s)}"


def unrecovered_event(to_tier: Tier) -> str:
    """An incident's line: the new size did not bring the services back."""
    return f"still unhealthy on {to_tier}"
