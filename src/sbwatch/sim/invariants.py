"""The rules every replay must keep, whatever happens in it, as report checks.

They are judged from the world's own record (each compute change with what was true when it
was asked for, the true state at the end) and from what the watcher did (its journal, the
budget estimate each change rested on, every alert action, sent or held):

- ``no_patch_without_cause``: never a PATCH during a platform outage, while our own network is
  down, on a paused project, or with no disk IO need at all (an email alone);
- ``patch_bounds``: only in auto mode, always up, never above max_tier or the cost cap;
- ``one_patch_per_need``: no PATCH to the size a project already has, none again within the
  cooldown;
- ``not_while_refilling``: no change while the forecast said the budget refills;
- ``alerts_delivered_once``: each alert opens once, is updated or reminded only while open,
  resolves once; no message is sent twice;
- ``alerts_resolve``: at the end, no alert is open whose cause has ended.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sbwatch.sim.hardware import SIZES, machine
from sbwatch.sim.scenario import Scenario, stamp

NEED_FLOOR = 0.5
"""A change on a budget that never fell below this, not draining nor throttled, had no need."""
PRICE_SLACK = 1.02
"""The world's prices and the provider's list differ by cents."""
BUDGET_SUBJECTS = ("io_budget", "budget")
FULL_AGAIN = 0.95
"""An IO budget alert may stay open (latched) until the budget is about this full again."""

Check = dict[str, Any]


def invariant_checks(scenario: Scenario, report: dict[str, Any]) -> list[Check]:
    """One check per rule; ``detail`` names the first breaches."""
    rules = (
        ("no_patch_without_cause", _without_cause(scenario, report)),
        ("patch_bounds", _bounds(scenario, report)),
        ("one_patch_per_need", _per_need(scenario, report)),
        ("not_while_refilling", _refilling(report)),
        ("alerts_delivered_once", _lifecycle(report)),
        ("alerts_resolve", _unresolved(scenario, report)),
    )
    return [_check(name, list(breaches)) for name, breaches in rules]


def _check(name: str, breaches: list[str]) -> Check:
    detail = "held" if not breaches else "; ".join(breaches[:3])
    if len(breaches) > 3:
        detail += f"; and {len(breaches) - 3} more"
    return {"name": name, "passed": not breaches, "detail": detail}


def _changes(report: dict[str, Any]) -> list[dict[str, Any]]:
    return list(report.get("changes", []))


def _without_cause(scenario: Scenario, report: dict[str, Any]) -> Iterable[str]:
    for escalation in report.get("escalations", []):
        if escalation.get("actor") != "daemon":
            continue
        state = _state_at(scenario, float(escalation["at_s"]), str(escalation["project"]))
        where = f"change to {escalation['to']} decided at {stamp(escalation['at_s'])}"
        for trouble in state:
            yield f"{where} {trouble}"
    for change in _changes(report):
        where = f"PATCH {change['from']} -> {change['to']} at {stamp(change['at_s'])}"
        if change["platform_outage"]:
            yield f"{where} during a platform outage"
        if not change["network_up"]:
            yield f"{where} while our own network was down"
        if change["paused"]:
            yield f"{where} on a paused project"
        idle = not change["draining"] and not change["throttled"]
        if idle and change["lowest_budget"] > NEED_FLOOR:
            yield (
                f"{where} with no disk IO need (budget never below "
                f"{change['lowest_budget']:.0%}, not draining)"
            )


def _bounds(scenario: Scenario, report: dict[str, Any]) -> Iterable[str]:
    policy = scenario.policy
    top = SIZES.index(str(policy.max_tier))
    for change in _changes(report):
        where = f"PATCH {change['from']} -> {change['to']} at {stamp(change['at_s'])}"
        if policy.mode.value != "auto":
            yield f"{where} in {policy.mode.value} mode"
        if change["to"] not in SIZES:
            yield f"{where} names no size"
            continue
        if SIZES.index(change["to"]) < SIZES.index(change["from"]):
            yield f"{where} goes down"
        if SIZES.index(change["to"]) > top:
            yield f"{where} is above max_tier {policy.max_tier}"
        price = machine(change["to"]).monthly_usd
        if price > policy.monthly_cost_cap_usd * PRICE_SLACK:
            yield f"{where} costs ${price:.2f}/month, over the cap ${policy.monthly_cost_cap_usd:g}"


def _per_need(scenario: Scenario, report: dict[str, Any]) -> Iterable[str]:
    last: dict[str, float] = {}
    for change in _changes(report):
        where = f"PATCH {change['from']} -> {change['to']} at {stamp(change['at_s'])}"
        if change["to"] == change["from"]:
            yield f"{where}: the size it already had"
        if not change["applied"]:
            continue
        before = last.get(change["project"])
        if before is not None and change["at_s"] - before < scenario.policy.cooldown_s:
            gap = stamp(change["at_s"] - before)
            yield f"{where}: {gap} after the last one, within the cooldown"
        last[change["project"]] = change["at_s"]


def _refilling(report: dict[str, Any]) -> Iterable[str]:
    for escalation in report.get("escalations", []):
        budget = escalation.get("budget")
        if escalation.get("actor") != "daemon" or not budget:
            continue
        if budget["refills"] and budget["eta_s"] is None:
            yield (
                f"change to {escalation['to']} at {stamp(escalation['at_s'])} while the forecast "
                f"said the budget ({budget['ratio']:.0%}) refills"
            )


def _actions(report: dict[str, Any]) -> list[dict[str, Any]]:
    sent = [{**a, "sent": True} for a in report.get("alerts", []) if "key" in a]
    held = [{**h, "sent": False} for h in report.get("held", [])]
    return sorted(sent + held, key=lambda a: float(a["at_s"]))


def _lifecycle(report: dict[str, Any]) -> Iterable[str]:
    open_keys: set[str] = set()
    seen: set[tuple[Any, ...]] = set()
    for action in _actions(report):
        key, kind, at = action["key"], action["kind"], stamp(action["at_s"])
        if action["sent"]:
            message = (key, kind, action["at_s"], action.get("title"), action.get("body"))
            if message in seen:
                yield f"{kind} of {key} at {at} sent twice"
            seen.add(message)
        if kind == "notice":
            continue
        if kind == "open":
            if key in open_keys:
                yield f"{key} opened again at {at} while open"
            open_keys.add(key)
        elif key not in open_keys:
            yield f"{kind} of {key} at {at} while it was not open"
        elif kind == "resolve":
            open_keys.discard(key)


def _unresolved(scenario: Scenario, report: dict[str, Any]) -> Iterable[str]:
    ended = _calm_at_end(scenario)
    truths = report.get("true_end", {})
    last = {s["project"]: s for s in report.get("series", [])}  # the last sample of each
    for alert in report.get("open_alerts", []):
        truth = truths.get(alert["project"], {})
        if truth.get("down") or truth.get("paused") or truth.get("throttled") or not ended:
            continue
        budget_alert = any(subject in alert["key"] for subject in BUDGET_SUBJECTS)
        believed = last.get(alert["project"], {})
        # An IO budget alert is latched until the budget is full again, as sbwatch sees it,
        # and a forecast alert holds while sbwatch's forecast still runs out: its cause is
        # that forecast, right or wrong (the accuracy tests judge the forecast).
        low = min(truth.get("budget_ratio", 1.0), believed.get("estimated") or 1.0)
        if budget_alert and (low < FULL_AGAIN or believed.get("eta_s") is not None):
            continue
        yield f"{alert['key']} ({alert['title']}) still open at the end, its cause over"


def _state_at(scenario: Scenario, at: float, ref: str) -> list[str]:
    """What is wrong outside the project's resources at ``at``: a platform outage, our own
    network down, the project paused (from the scenario's events)."""
    outage, network, paused = False, True, False
    first = scenario.projects[0].ref
    for event in scenario.events:
        if event["at_s"] > at:
            break
        if event["kind"] == "platform_outage":
            outage = bool(event["on"])
        elif event["kind"] == "network":
            network = bool(event["on"])
        elif event["kind"] == "project" and event.get("ref", first) == ref:
            paused = event["state"] == "paused"
    return [
        what
        for what, now in (
            ("during a platform outage", outage),
            ("while our own network was down", not network),
            ("on a paused project", paused),
        )
        if now
    ]


def _calm_at_end(scenario: Scenario) -> bool:
    """Whether the scenario ends with no outage, our network up and no API fault in force."""
    state = {"platform_outage": False, "network": True, "mgmt_api": "none"}
    for event in scenario.events:
        if event["kind"] == "platform_outage":
            state["platform_outage"] = bool(event["on"])
        elif event["kind"] == "network":
            state["network"] = bool(event["on"])
        elif event["kind"] == "mgmt_api":
            state["mgmt_api"] = str(event["fault"])
    return not state["platform_outage"] and bool(state["network"]) and state["mgmt_api"] == "none"
