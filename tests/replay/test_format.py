"""The scenario format's judgment keys on real replays: a resize made in the dashboard, what
messages say (and must not say), how many each project sends, and the policy knobs."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from tests.replay.conftest import DATA

from sbwatch.sim.expect_messages import ExpectedMessage, UnwantedMessage
from sbwatch.sim.replay import checks, replay, replay_settings
from sbwatch.sim.scenario import Expectations, Scenario, load_scenario, parse_scenario

REF = "abcdefghijklmnopqrst"
SIZE_CHECK_S = 600.0
RESIZE_S = 120.0
"""How long the simulator keeps a project RESIZING."""


@pytest.fixture(scope="module")
def outside() -> tuple[Scenario, dict[str, Any]]:
    """tests/replay/data/outside-resize.toml and its report."""
    scenario = load_scenario(DATA / "outside-resize.toml")
    return scenario, asyncio.run(replay(scenario))


def test_an_outside_resize_is_seen_as_it_ends(
    outside: tuple[Scenario, dict[str, Any]],
) -> None:
    """The dashboard's resize is no PATCH and no change of sbwatch's; the daemon reads the size
    as soon as the Management API's project status leaves RESIZING (not at the next size
    check minutes on: the new size's budget runs from then) and says so once; every
    expectation of the file holds."""
    _, report = outside
    assert [] == [c for c in report["checks"] if not c["passed"]]
    assert (0, 0, [], [], "small") == (
        report["patch_calls"],
        report["patch_attempts"],
        report["changes"],
        report["escalations"],
        report["final_tier"],
    )
    (resize,) = report["outside_resizes"]
    assert (3780.0, REF, "micro", "small", True) == (
        resize["at_s"],
        resize["project"],
        resize["from"],
        resize["to"],
        resize["applied"],
    )
    said = [m["at_s"] for m in report["messages"] if "outside sbwatch" in m["title"]]
    # RESIZING for two minutes; the first mgmt_health probe after it (a minute apart)
    assert [3900.0] == said
    assert RESIZE_S <= said[0] - resize["at_s"] <= RESIZE_S + 60 < SIZE_CHECK_S


def _check(scenario: Scenario, report: dict[str, Any], **expect: Any) -> dict[str, Any]:
    """The one check the given expectation makes of a finished replay's report."""
    only = dataclasses.replace(scenario, expect=Expectations(**expect))
    (check,) = checks(only, report, applied={})
    return check


ESCALATE = "run: sbwatch escalate abcdefghijklmnopqrst --to small"
CASES = [
    pytest.param(
        {"messages": (ExpectedMessage("warning", "disk IO budget", ESCALATE, "outage"),)},
        True,
        "in order: warning /disk IO budget/ containing /run: sbwatch escalate",
        id="contains-holds",
    ),
    pytest.param(
        {"messages": (ExpectedMessage("warning", "disk IO budget", "--to large"),)},
        False,
        "no warning /disk IO budget/ containing /--to large/ message; sent: warning: ",
        id="contains-missing",
    ),
    pytest.param(
        {"messages": (ExpectedMessage("warning", "disk IO budget", None, "ESCALATE"),)},
        False,
        "warning /disk IO budget/ without /ESCALATE/: the warning message at 0d00h16m: "
        "'WARNING outside-resize (abcdef): disk IO budget 26% left, runs out in ~1h43m' "
        "holds /ESCALATE/",
        id="not-contains-found",
    ),
    pytest.param(
        {"no_messages": (UnwantedMessage(title="raising compute"),)},
        True,
        "none of any /raising compute/ among 5 sent",
        id="no-messages-holds",
    ),
    pytest.param(
        {"no_messages": (UnwantedMessage("warning", "open", contains="RESIZE UNDER WAY"),)},
        False,
        "warning open containing /RESIZE UNDER WAY/: the warning open at 0d01h04m: "
        "'WARNING outside-resize (abcdef): compute resize under way: services restart until it "
        "ends'",
        id="no-messages-found",
    ),
    pytest.param(
        {"no_messages": (UnwantedMessage(kind="resolve", title="db is down"),)},
        True,
        "none of any resolve /db is down/",
        id="no-messages-kind",
    ),
    pytest.param(
        {"max_messages_per_project": 5}, True, "5 sent, at most 5", id="per-project-holds"
    ),
    pytest.param(
        {"max_messages_per_project": 4}, False, "5 sent, at most 4", id="per-project-over"
    ),
    pytest.param(
        {"max_messages_each": {REF: 2}}, False, "5 sent, at most 2", id="per-project-by-ref"
    ),
]


@pytest.mark.parametrize(("expect", "passed", "detail"), CASES)
def test_message_expectations_pass_and_fail(
    outside: tuple[Scenario, dict[str, Any]], expect: dict[str, Any], passed: bool, detail: str
) -> None:
    """Each new expectation, held and broken on the same real replay, with a detail naming
    what was wanted and, when broken, the message at fault."""
    scenario, report = outside
    check = _check(scenario, report, **expect)
    assert passed == check["passed"], check
    assert check["detail"].startswith(detail), check["detail"]


def test_per_project_counts_leave_other_projects_alone() -> None:
    """Two projects: each is counted on its own, a silent one holds at 0."""
    scenario = load_scenario(DATA / "two-projects.toml")
    report = asyncio.run(replay(scenario))
    refs = report["projects"]
    counts = {ref: sum(1 for m in report["messages"] if m["project"] == ref) for ref in refs}
    busy = max(refs, key=lambda ref: counts[ref])
    limits = {ref: counts[ref] for ref in refs}
    assert _check(scenario, report, max_messages_each=limits)["passed"]
    check = _check(scenario, report, max_messages_each={**limits, busy: counts[busy] - 1})
    assert not check["passed"]
    assert f"{busy[:6]}: {counts[busy]} sent, at most {counts[busy] - 1}" in check["detail"]


DRAIN = """
name = "knobs"
duration = "2h"
[project]
ref = "abcdefghijklmnopqrst"
tier = "micro"
io_budget_pct = {pct}
[policy]
mode = "{mode}"
max_tier = "medium"
monthly_cost_cap_usd = 100
{knobs}
[[events]]
at = "0s"
kind = "workload"
read_mbps = {mbps}
"""


def _drain(knobs: str, mode: str = "auto", pct: int = 30, mbps: int = 30) -> Scenario:
    return parse_scenario(DRAIN.format(knobs=knobs, mode=mode, pct=pct, mbps=mbps))


def _replay(knobs: str, mode: str = "auto", pct: int = 30, mbps: int = 30) -> dict[str, Any]:
    return asyncio.run(replay(_drain(knobs, mode, pct, mbps)))


def test_policy_knobs_reach_the_watchers_settings() -> None:
    """[policy] max_steps, escalate_within and the horizons become the daemon's settings;
    left out, the daemon's defaults stay."""
    knobs = (
        'max_steps = 2\nescalate_within = "20m"\nwarn_horizon = "2d"\n'
        'pattern_warn_horizon = "5d"\ncritical_horizon = "30m"'
    )
    project = replay_settings(_drain(knobs)).projects[0]
    assert (2, 1200.0, 172_800.0, 432_000.0, timedelta(minutes=30)) == (
        project.escalation.max_steps,
        project.escalation.escalate_within.total_seconds(),
        project.budget.warn_horizon.total_seconds(),
        project.budget.pattern_warn_horizon.total_seconds(),
        project.budget.critical_horizon,
    )
    default = replay_settings(_drain("")).projects[0]
    assert (1, 7200.0, 86_400.0, 259_200.0, None) == (
        default.escalation.max_steps,
        default.escalation.escalate_within.total_seconds(),
        default.budget.warn_horizon.total_seconds(),
        default.budget.pattern_warn_horizon.total_seconds(),
        default.budget.critical_horizon,
    )


def test_escalate_within_and_max_steps_change_the_raise() -> None:
    """A drain of ~2 h: by default sbwatch raises one step just in time (the resize and a
    margin ahead, about five minutes); escalate_within = 3m, the earliest it may raise, waits
    until the forecast is that close; max_steps = 2 goes to medium, whose baseline carries 30
    MB/s."""
    first = _replay("")["escalations"][0]
    late = _replay('escalate_within = "3m"')["escalations"][0]
    wide = _replay("max_steps = 2")["escalations"][0]
    assert ("micro", "small") == (first["from"], first["to"])
    assert first["budget"]["eta_s"] > 180
    assert late["at_s"] > first["at_s"]
    assert (late["budget"]["eta_s"] or 0.0) <= 180  # that close, or the estimate ran out
    assert ("micro", "medium") == (wide["from"], wide["to"])


def test_warn_and_critical_horizons_move_the_first_budget_message() -> None:
    """Off mode, a ~8 h drain (25% left, 15 MB/s on micro): by default the budget warning comes
    at the first forecast; critical_horizon = 9h makes it a page; warn_horizon = 6h holds it
    back until the budget is low or the forecast that close."""

    def first_budget(knobs: str) -> dict[str, Any]:
        report = _replay(knobs, mode="off", pct=25, mbps=15)
        return next(m for m in report["messages"] if "disk IO budget" in m["title"])

    default = first_budget("")
    paged = first_budget('critical_horizon = "9h"')
    late = first_budget('warn_horizon = "6h"')
    assert ("warning", "critical") == (default["severity"], paged["severity"])
    assert default["at_s"] < 3600 < late["at_s"]
