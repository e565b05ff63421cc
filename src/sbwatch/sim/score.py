"""Judging one replay against the ground truth: every message and every PATCH.

The rules (shared/DESIGN.md, "The scorecard"), each defined from the truth (sim/truth.py),
never from sbwatch's own state:

- ``missed_warning``: a failure caused by the used-up disk IO budget that was predictable (the
  load steady or repeating the day before's, on a size that was draining, for at least
  ``PREDICTABLE_S``) with no message naming the disk IO budget at least the drain's lead
  ahead (24 h when the drain took over two days, else half of it), counted from when the
  size that failed came into force; ``late_warning``: named, with less lead.
- ``missed_warning`` too: Postgres's connections exhausted by a leak that filled half of
  them at least ``PREDICTABLE_S`` before, with no message naming the connections before; an
  OOM after memory was short (RAM over three quarters or swap over seven tenths), or the CPUs
  exhausted after they were busy above nine tenths, that long, with no warning or page
  naming memory (the CPUs) before.
- ``wasted_patch``: a compute change after which the same world without it shows no
  failure from the budget on the old size within ``PATCH_WINDOW_S`` (or before the end).
- ``late_patch``: a change sent while the budget's failure was under way, although it was
  predictable ``PREDICTABLE_S`` ahead.
- ``false_page``: a critical message (not a resolve) with no failure of its project under
  way, none ended within ``PAGE_GRACE_S`` and none starting within the horizon the message
  states ("in ~2h"), ``HORIZON_SLACK`` times over, at least ``DEFAULT_HORIZON_S`` (past the
  case's end, the world goes on as its last events left it);
  ``false_warning``: the same for a warning about the project's health; for a message about
  the disk IO budget, the budget truly running out within the horizon also makes it true;
  for one about the connections, Postgres's connections truly ``CONNECTIONS_NEAR`` full;
  for one about the auth rate limits, GoTrue truly refusing a route it names (429s) then.
- ``false_resolve``: a RESOLVED while what it was about still truly fails.
- ``pages``: critical messages from a failure's start to its end (resolves not counted).
- ``silent_failure``: a predictable budget failure that sbwatch could not prevent itself
  (``ask`` or ``off`` mode, the next size above ``max_tier`` or over the cost cap) with no
  message giving the person the command (``sbwatch escalate``) before it happened, on the
  size that failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sbwatch.core.durations import format_duration
from sbwatch.core.results import EscalationMode
from sbwatch.sim.hardware import SIZES, machine
from sbwatch.sim.scenario import Scenario
from sbwatch.sim.truth import (
    Cause,
    Incident,
    Sample,
    Timeline,
    run_world,
    without,
)

PREDICTABLE_S = 30 * 60.0
PATCH_WINDOW_S = 24 * 3600.0
PAGE_GRACE_S = 3 * 60.0
"""A page this soon after a failure ended is late, not false (a probe interval and a check)."""
UNSEEN_S = 60.0
"""A failure that began this shortly before a RESOLVED was not there for it to see (a probe
interval): the resolve ended what it saw, and the new failure is told on its own."""
DEFAULT_HORIZON_S = 3600.0
HORIZON_SLACK = 1.5
"""A forecast may be this far off and still be a warning, not a false alarm."""
MAX_PAST_END_S = 3 * 86_400.0
"""The truth runs on past a case's end (the world as its last events left it) to judge a
forecast near the end, at most this far."""
AUTH_LIMITS_SUBJECT = "auth_limits"
"""The auth rate limits warning: borne out by GoTrue truly refusing a route it names."""
HEALTH_SUBJECTS = (
    "io_budget", "diagnosis", "service:", "escalation", "connections", AUTH_LIMITS_SUBJECT
)  # fmt: skip
"""Alert subjects that claim something is (or will be) wrong with the project."""
BUDGET_WORDS = re.compile(r"\bIO budget\b", re.IGNORECASE)
CONNECTION_WORDS = re.compile(r"\bconnections\b", re.IGNORECASE)
CONNECTIONS_NEAR = 0.8
"""Postgres's connections this full bear out a warning about them."""
LEAK_FROM = 0.5
"""A leak can be seen coming from when it fills half of the slots."""
MEMORY_WORDS = re.compile(r"\b(memory|RAM|swap|OOM)\b")
CPU_WORDS = re.compile(r"\bCPUs?\b")
HOST_CAUSES = frozenset({Cause.MEMORY, Cause.CPU})
COMMAND = "sbwatch escalate"
_HORIZON = re.compile(r"\bin ~?\s*((?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?)\b")
_UNITS = {"d": 86_400, "h": 3600, "m": 60, "s": 1}
RULES = (
    "missed_warning",
    "late_warning",
    "wasted_patch",
    "late_patch",
    "false_page",
    "false_warning",
    "false_resolve",
    "silent_failure",
    "pages_per_incident",
)
MAX_PAGES_PER_INCIDENT = 1.2


@dataclass(frozen=True)
class Finding:
    """One broken rule: which, about which project, when, and what the truth says."""

    rule: str
    project: str
    at_s: float
    detail: str

    def as_dict(self) -> dict[str, Any]:
        """For a JSON report."""
        return {
            "rule": self.rule,
            "project": self.project,
            "at_s": self.at_s,
            "detail": self.detail,
        }


@dataclass
class CaseScore:
    """What one replay did, judged."""

    incidents: list[Incident]
    findings: list[Finding] = field(default_factory=list)
    leads_h: list[float] = field(default_factory=list)
    """Lead of the first warning naming the budget before each predictable budget failure."""
    pages: list[int] = field(default_factory=list)
    """Pages per incident that got any."""
    patches: int = 0

    def count(self, rule: str) -> int:
        """How many times ``rule`` broke."""
        return sum(1 for f in self.findings if f.rule == rule)

    @property
    def broken(self) -> frozenset[str]:
        """The rules this case broke (``late_warning`` alone is not a failure)."""
        names = {f.rule for f in self.findings if f.rule != "late_warning"}
        if self.pages and sum(self.pages) / len(self.pages) > MAX_PAGES_PER_INCIDENT:
            names.add("pages_per_incident")
        return frozenset(names)


def subject(message: dict[str, Any]) -> str:
    """The alert subject of a sent message (``ref:io_budget`` -> ``io_budget``)."""
    return str(message.get("key", "")).partition(":")[2]


def stated_horizon_s(message: dict[str, Any]) -> float | None:
    """The horizon a message states ("runs out in ~4h48m"), seconds; None when it states none."""
    text = f"{message.get('title', '')}\n{message.get('body', '')}"
    for match in _HORIZON.finditer(text):
        amount = match.group(1)
        if amount:
            return float(sum(int(n) * _UNITS[u] for n, u in re.findall(r"(\d+)([dhms])", amount)))
    return None


def _mine(message: dict[str, Any], ref: str) -> bool:
    project = message.get("project")
    return not project or project == ref


def _names_budget(message: dict[str, Any]) -> bool:
    return bool(BUDGET_WORDS.search(f"{message.get('title', '')}\n{message.get('body', '')}"))


def score_case(scenario: Scenario, report: dict[str, Any]) -> CaseScore:
    """Judge one replay report against the truth of its scenario."""
    resizes = list(report.get("api_resizes", []))
    sent = list(report["alerts"])
    disk = list(report.get("api_disk_changes", []))
    until = _judged_until(scenario, sent)
    timeline = run_world(scenario, resizes, until_s=until, disk_changes=disk)
    within = [i for i in timeline.incidents() if i.start_s < scenario.duration_s]
    score = CaseScore(incidents=within, patches=len(resizes))
    _warnings(scenario, timeline, sent, score)
    _leak_warnings(timeline, sent, score)
    _patches(scenario, timeline, resizes, score)
    _pages(timeline, sent, score)
    _resolves(timeline, sent, score)
    return score


def _judged_until(scenario: Scenario, sent: list[dict[str, Any]]) -> float:
    """How far past the end the truth must run to judge every message by its own horizon."""
    ends = [float(m["at_s"]) + _horizon(m) for m in sent]
    return min(max([scenario.duration_s, *ends]), scenario.duration_s + MAX_PAST_END_S)


def _horizon(message: dict[str, Any]) -> float:
    return max(DEFAULT_HORIZON_S, HORIZON_SLACK * (stated_horizon_s(message) or 0.0))


def _warnings(
    scenario: Scenario, timeline: Timeline, sent: list[dict[str, Any]], score: CaseScore
) -> None:
    for incident in score.incidents:
        drain = timeline.drain(incident)
        if drain is None or not drain.predictable(PREDICTABLE_S):
            continue
        ref, failed = incident.project, drain.failed_s
        window = [
            m
            for m in sent
            if _mine(m, ref)
            and drain.since_resize_s <= m["at_s"] < failed
            and m.get("kind") != "resolve"
        ]
        named = [m for m in window if m["severity"] in ("warning", "critical") and _names_budget(m)]
        when = f"budget ran out at {format_duration(failed)}"
        need = f"lead {format_duration(drain.lead_s)} needed"
        if not named:
            score.findings.append(
                Finding("missed_warning", ref, failed, f"{when}; no message named it ({need})")
            )
        else:
            lead = failed - named[0]["at_s"]
            score.leads_h.append(lead / 3600)
            if lead < drain.lead_s:
                score.findings.append(
                    Finding(
                        "late_warning",
                        ref,
                        failed,
                        f"{when}; named {format_duration(lead)} ahead ({need})",
                    )
                )
        if not _can_act(scenario, timeline.at(ref, failed).tier) and not any(
            COMMAND in str(m.get("body", "")) for m in window
        ):
            score.findings.append(
                Finding(
                    "silent_failure",
                    ref,
                    failed,
                    f"{when} on {timeline.at(ref, failed).tier}; sbwatch could not raise it "
                    "and no message gave the command before",
                )
            )


SEEN_COMING: dict[Cause, tuple[Callable[[Sample], bool], re.Pattern[str], str]] = {
    Cause.CONNECTIONS: (
        lambda s: s.connections >= LEAK_FROM,
        CONNECTION_WORDS,
        "connections exhausted at {full}, half full since {seen}; no message named them",
    ),
    Cause.MEMORY: (
        lambda s: s.memory_short,
        MEMORY_WORDS,
        "out of memory (OOM) at {full}, memory short since {seen}; no message named it",
    ),
    Cause.CPU: (
        lambda s: s.cpu_busy,
        CPU_WORDS,
        "CPUs exhausted at {full}, busy above nine tenths since {seen}; no message named them",
    ),
}
"""For each cause a host or pool limit runs out by: what shows it coming in the truth, the
words a message naming it uses, and the finding's words."""


def _leak_warnings(timeline: Timeline, sent: list[dict[str, Any]], score: CaseScore) -> None:
    """``missed_warning`` for a limit run out that was seen coming at least ``PREDICTABLE_S``
    before (a leak filling half of Postgres's connections, memory short, the CPUs busy), with
    no warning or page naming it since that limit last ran out in this project (a warning
    sent while another cause held the project down still foresaw this one)."""
    for incident in score.incidents:
        if incident.cause not in SEEN_COMING:
            continue
        coming, words, detail = SEEN_COMING[incident.cause]
        ref, full = incident.project, incident.start_s
        series = [s for s in timeline.samples[ref] if s.at_s < full]  # an OOM ends the short
        seen = full
        for sample in reversed(series):
            if not coming(sample):
                break
            seen = sample.at_s
        if full - seen < PREDICTABLE_S:
            continue
        # A warning from a forecast counts from before the truth shows it (a leak's slope),
        # back to the end of the project's incident before of the same cause.
        before = [
            i.end_s
            for i in score.incidents
            if i.project == ref and i.cause == incident.cause and i.end_s <= full
        ]
        since = max(before, default=0.0)
        named = [
            m
            for m in sent
            if _mine(m, ref)
            and since <= m["at_s"] < full
            and m["severity"] in ("warning", "critical")
            and m.get("kind") != "resolve"
            and words.search(f"{m.get('title', '')}\n{m.get('body', '')}")
        ]
        if not named:
            said = detail.format(full=format_duration(full), seen=format_duration(seen))
            score.findings.append(Finding("missed_warning", ref, full, said))


def _can_act(scenario: Scenario, tier: str) -> bool:
    """Whether sbwatch's policy lets it raise ``tier`` one size itself."""
    policy = scenario.policy
    if policy.mode is not EscalationMode.AUTO:
        return False
    index = SIZES.index(tier)
    if index + 1 >= len(SIZES):
        return False
    following = SIZES[index + 1]
    if SIZES.index(following) > SIZES.index(policy.max_tier.value):
        return False
    return machine(following).monthly_usd <= policy.monthly_cost_cap_usd


def _patches(
    scenario: Scenario, timeline: Timeline, resizes: list[dict[str, Any]], score: CaseScore
) -> None:
    for change in resizes:
        if change.get("rollback"):
            continue
        ref, at = str(change["project"]), float(change["at"])
        until = at + PATCH_WINDOW_S  # past the case's end, the world as its events left it
        world = run_world(
            scenario,
            without(resizes, ref, at),
            until_s=until,
            disk_changes=timeline.disk_changes,
        )
        after = [i for i in world.incidents(ref) if i.end_s > at and i.start_s <= until]
        impact = [i for i in after if i.budget_s is not None]
        # Memory or CPU are judged within the case: a leak's growth past its end is no load
        # the case drew (a budget's drain goes on as the events left it).
        ended = min(until, scenario.duration_s)
        host = [i for i in after if HOST_CAUSES & set(i.causes) and i.start_s <= ended]
        still = [
            i
            for i in timeline.incidents(ref)
            if i.start_s > at and i.start_s <= ended and HOST_CAUSES & set(i.causes)
        ]
        # A change saves the project from the budget, or from memory or CPU running out when
        # they do not run out all the same on the new size.
        if not impact and not (host and not still):
            score.findings.append(
                Finding(
                    "wasted_patch",
                    ref,
                    at,
                    f"raised to {change['tier']} at {format_duration(at)}; without it the old "
                    f"size would not have failed from the budget by {format_duration(until)}",
                )
            )
        under_way = next(
            (
                i
                for i in timeline.incidents(ref)
                if i.budget_s is not None and i.budget_s <= at < i.end_s
            ),
            None,
        )
        drain = timeline.drain(under_way) if under_way is not None else None
        if drain is not None and drain.predictable(PREDICTABLE_S):
            score.findings.append(
                Finding(
                    "late_patch",
                    ref,
                    at,
                    f"raised at {format_duration(at)}, after the budget ran out at "
                    f"{format_duration(drain.failed_s)} (visible since "
                    f"{format_duration(drain.start_s)})",
                )
            )


def _pages(timeline: Timeline, sent: list[dict[str, Any]], score: CaseScore) -> None:
    for incident in score.incidents:
        count = sum(
            1
            for m in sent
            if m["severity"] == "critical"
            and m.get("kind") != "resolve"
            and _mine(m, incident.project)
            and incident.start_s <= m["at_s"] <= incident.end_s
        )
        if count:
            score.pages.append(count)
    for message in sent:
        if message.get("kind") == "resolve":
            continue
        critical = message["severity"] == "critical"
        if not critical and not (
            message["severity"] == "warning" and subject(message).startswith(HEALTH_SUBJECTS)
        ):
            continue
        if not _justified(timeline, message):
            rule = "false_page" if critical else "false_warning"
            score.findings.append(
                Finding(
                    rule,
                    str(message.get("project") or ""),
                    message["at_s"],
                    f"{message['severity']} {message['title']!r} at "
                    f"{format_duration(message['at_s'])}: nothing truly failed then or within "
                    "its horizon",
                )
            )


def _justified(timeline: Timeline, message: dict[str, Any]) -> bool:
    """Whether a failure was under way, just over, or came within the message's horizon;
    for a message about memory or the CPUs, also whether they truly were short."""
    at = float(message["at_s"])
    horizon = _horizon(message)
    budget = _names_budget(message)
    about_connections = subject(message) == "connections"
    text = f"{message.get('title', '')}\n{message.get('body', '')}"
    for ref in timeline.refs:
        if not _mine(message, ref):
            continue
        near = [s for s in timeline.samples[ref] if at - PAGE_GRACE_S <= s.at_s <= at + horizon]
        if about_connections and any(s.connections >= CONNECTIONS_NEAR for s in near):
            return True
        if subject(message) == AUTH_LIMITS_SUBJECT and any(
            route in message.get("title", "") for s in near for route in s.auth_refused
        ):
            return True  # users truly refused on a route it names: never a page by itself
        if MEMORY_WORDS.search(text) and any(s.memory_short for s in near):
            return True
        if CPU_WORDS.search(text) and any(s.cpu_busy for s in near):
            return True
        for incident in timeline.incidents(ref):
            if budget and incident.budget_s is None and Cause.RESIZE not in incident.causes:
                continue  # a forecast of the budget is not borne out by another failure
            if incident.start_s - horizon <= at < incident.end_s + PAGE_GRACE_S:
                return True
        if budget and any(
            s.budget <= 0.001
            for s in timeline.samples[ref]
            if at - PAGE_GRACE_S <= s.at_s <= at + horizon
        ):
            return True
    return False


def _resolves(timeline: Timeline, sent: list[dict[str, Any]], score: CaseScore) -> None:
    for message in sent:
        if message.get("kind") != "resolve":
            continue
        topic = subject(message)
        at = float(message["at_s"])
        for ref in timeline.refs:
            if not _mine(message, ref):
                continue
            still = _still_failing(timeline, ref, at, topic)
            if still:
                score.findings.append(
                    Finding(
                        "false_resolve",
                        ref,
                        at,
                        f"{message['title']!r} at {format_duration(at)} while {still} still "
                        "truly failed",
                    )
                )


def _still_failing(timeline: Timeline, ref: str, at: float, topic: str) -> str:
    """What the resolved alert was about that still truly fails at ``at`` ("" if nothing)."""
    now, following = timeline.at(ref, at).bad, timeline.at(ref, at + timeline.step_s).bad
    bad = {s: c for s, c in now.items() if s in following}  # over a sample, not between two
    if topic == AUTH_LIMITS_SUBJECT:
        still = timeline.at(ref, at).auth_refused
        return f"auth {', '.join(still)} refusing" if still else ""
    if topic.startswith("service:"):
        name = topic.partition(":")[2]
        began = [i.start_s for i in timeline.incidents(ref) if i.covers(at) and name in i.services]
        seen = any(at - start >= UNSEEN_S for start in began)
        return name if name in bad and seen else ""
    if topic == "io_budget":
        bad = {s: c for s, c in bad.items() if c in (Cause.BUDGET, Cause.OVERLOAD)}
    elif not topic.startswith(("diagnosis",)):
        return ""
    return ", ".join(sorted(bad))


def score_checks(scenario: Scenario, report: dict[str, Any]) -> list[dict[str, Any]]:
    """The scorecard's rules as replay checks (``[expect] score = true``), one per rule."""
    score = score_case(scenario, report)
    broken = score.broken
    out = []
    for rule in RULES:
        if rule == "late_warning":
            continue
        details = [f.detail for f in score.findings if f.rule == rule]
        if rule == "pages_per_incident":
            detail = f"pages per incident: {score.pages or 'none'}"
        else:
            detail = "; ".join(details) or "held"
        out.append({"name": f"score:{rule}", "passed": rule not in broken, "detail": detail})
    return out
