"""The scorecard campaign: cases drawn from a seed, judged, added up, shrunk; a planted rule."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sbwatch.core.tiers import next_tier
from sbwatch.policy.escalation import EscalationDecision, Reason, Why, decide
from sbwatch.sim.fuzz import to_toml
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import EVENT_KEYS, load_scenario, parse_scenario
from sbwatch.sim.score import score_case
from sbwatch.sim.scorecard import Scorecard, campaign, cases, judge, shrink_failures
from sbwatch.sim.stories import story

KEYS = (
    "cases",
    "incidents",
    "missed_warnings",
    "late_warnings",
    "lead_time_p50_h",
    "wasted_patches",
    "late_patches",
    "false_pages",
    "false_warnings",
    "false_resolves",
    "pages_per_incident",
    "silent_failures",
    "cases_per_s",
)


def test_stories_are_valid_scenarios_and_draw_what_operators_meet() -> None:
    """Two hundred cases parse; together they hold every load, trouble, mode and shape."""
    rng = random.Random(3)
    docs = [story(rng, 1.0, i) for i in range(200)]
    scenarios = [parse_scenario(to_toml(doc, expect="score")) for doc in docs]
    kinds = {e["kind"] for s in scenarios for e in s.events}
    # outside_resize, disk, quota and token are newer than the stories: the fuzz draws them
    # (test_fuzz.py)
    newer = {"outside_resize", "disk", "quota", "token"}
    assert set(EVENT_KEYS) - newer <= kinds | {"status_page"}
    loads = {part for doc in docs for part in doc["name"].split("-", 2)[2].split("+")}
    assert {"steady", "refill", "step", "daynight", "weekly", "spike", "burst", "iops"} <= loads
    assert {"auto", "ask", "off"} == {s.policy.mode.value for s in scenarios}
    assert {1, 2} == {len(s.projects) for s in scenarios}
    factors = {p.true_limits_factor for s in scenarios for p in s.projects}
    assert 1.0 == min(factors)
    assert 1.3 < max(factors) <= 1.6
    assert {True, False} == {
        e.get("spoofed", False) for s in scenarios for e in s.events if e["kind"] == "email"
    }
    assert all(s.expect.score for s in scenarios)


def test_a_seed_gives_the_same_campaign() -> None:
    """Cases and their verdicts depend on the seed alone."""
    assert list(cases(4, 3, 0.5)) == list(cases(4, 3, 0.5))
    assert list(cases(4, 3, 0.5)) != list(cases(5, 3, 0.5))


def test_a_campaign_reports_every_figure(tmp_path: Path) -> None:
    """A small campaign: every key of the JSON scorecard, its sums consistent with its cases."""
    card = campaign(11, 3, 0.5)
    data = card.as_dict()
    assert set(KEYS) <= data.keys()
    assert 3 == data["cases"]
    assert data["incidents"] == sum(len(r.incidents) for r in card.results)
    assert data["false_pages"] == sum(r.counts["false_page"] for r in card.results)
    assert data["failing_cases"] == sum(1 for r in card.results if r.broken)
    again = campaign(11, 3, 0.5)
    assert [r.findings for r in card.results] == [r.findings for r in again.results]
    assert "cases" in card.table()
    assert "false pages" in card.table()


def test_the_command_prints_the_scorecard_as_json(tmp_path: Path) -> None:
    """``sbwatch sim score --json`` prints one object with the figures."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sbwatch",
            "sim",
            "score",
            "--seed",
            "2",
            "--count",
            "2",
            "--days",
            "0.5",
            "--jobs",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    data = json.loads(done.stdout)
    assert set(KEYS) <= data.keys()
    assert 2 == data["cases"]


LIGHT_WITH_A_SMALL_HILL = """
name = "hill"
duration = "8h"
[project]
ref = "abcdefghijklmnopqrst"
tier = "micro"
io_budget_pct = 100
[policy]
mode = "auto"
max_tier = "small"
monthly_cost_cap_usd = 30
[[events]]
at = "0s"
kind = "workload"
read_mbps = 5
[[events]]
at = "2h"
kind = "workload"
read_mbps = 20
[[events]]
at = "2h30m"
kind = "workload"
read_mbps = 5
[expect]
score = true
"""
"""Micro at 5 MB/s with half an hour at 20: a few percent of the budget, nothing to fix."""


def _eager(real: Any) -> Any:
    """A wrong rule: raise one size whenever anything burns the budget."""

    def decide(
        diagnosis: Any,
        budget: Any,
        policy: Any,
        current_tier: Any,
        journal: Any,
        now: Any,
        **kw: Any,
    ) -> EscalationDecision:
        decision: EscalationDecision = real(
            diagnosis, budget, policy, current_tier, journal, now, **kw
        )
        raised = any(i.project == kw["ref"] for i in journal)
        if decision.action == "none" and budget is not None and budget.burn_mbps > 0 and not raised:
            target = next_tier(current_tier)
            why = Reason(Why.RAISE, diagnosis.kind)
            return EscalationDecision("escalate", target, why, 5.0, current_tier)
        return decision

    return decide


def test_the_scorecard_catches_a_planted_wrong_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Raising on any burn spends a PATCH the truth calls wasted; the real rule spends none."""
    sc = parse_scenario(LIGHT_WITH_A_SMALL_HILL)
    honest = asyncio.run(replay(sc))
    assert 0 == score_case(sc, honest).count("wasted_patch")
    assert 0 == honest["patch_calls"]
    monkeypatch.setattr("sbwatch.watch.escalation.decide", _eager(decide))
    planted = asyncio.run(replay(sc))
    assert 1 <= planted["patch_calls"]
    assert 1 <= score_case(sc, planted).count("wasted_patch")
    assert not planted["passed"]
    assert any(c["name"] == "score:wasted_patch" and not c["passed"] for c in planted["checks"])


def test_a_failing_case_is_shrunk_to_a_scenario_that_still_breaks_its_rule(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The planted rule's wasted PATCH, shrunk and written out, fails ``sim replay`` alone."""
    monkeypatch.setattr("sbwatch.watch.escalation.decide", _eager(decide))
    hill = parse_scenario(LIGHT_WITH_A_SMALL_HILL)
    doc = _doc_of(hill)
    doc["events"] += [
        {"at": 3600, "kind": "email", "ref": hill.project.ref, "template": "other"},
        {"at": 7200, "kind": "status_page", "indicator": "minor"},
        {"at": 9000, "kind": "status_page", "indicator": "none"},
    ]
    doc["events"].sort(key=lambda e: e["at"])
    card = Scorecard(seed=0, days=0.33, results=[judge(doc)])
    assert "wasted_patch" in card.results[0].broken
    shrunk = dict(shrink_failures(card, tmp_path, 8))
    path = shrunk["wasted_patch"]
    text = path.read_text()
    assert "score = true" in text
    assert "wasted_patch" in text
    small = load_scenario(path)
    assert len(small.events) < len(doc["events"])
    report = asyncio.run(replay(small))
    assert not report["passed"]
    assert any(c["name"] == "score:wasted_patch" and not c["passed"] for c in report["checks"])


def _doc_of(scenario: Any) -> dict[str, Any]:
    """A scenario as a case document."""
    return {
        "name": scenario.name,
        "duration": int(scenario.duration_s),
        "projects": [
            {
                "ref": p.ref,
                "tier": p.tier.value,
                "io_budget_pct": p.io_budget_pct,
                "true_limits_factor": p.true_limits_factor,
            }
            for p in scenario.projects
        ],
        "policy": {
            "mode": scenario.policy.mode.value,
            "max_tier": scenario.policy.max_tier.value,
            "monthly_cost_cap_usd": scenario.policy.monthly_cost_cap_usd,
            "cooldown": int(scenario.policy.cooldown_s),
        },
        "events": [
            {"at": int(e["at_s"]), **{k: v for k, v in e.items() if k != "at_s"}}
            for e in scenario.events
        ],
    }


def test_a_case_is_judged_on_one_run_of_the_truth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The truth's re-run is a sixth of a case's time: ``judge`` scores the report once, the
    replay does not score it again for its own checks (a case without a PATCH: one run)."""
    from sbwatch.sim.truth import run_world

    runs = 0

    def counting(*args: Any, **kwargs: Any) -> Any:
        nonlocal runs
        runs += 1
        return run_world(*args, **kwargs)

    monkeypatch.setattr("sbwatch.sim.score.run_world", counting)
    result = judge(_doc_of(parse_scenario(LIGHT_WITH_A_SMALL_HILL)))
    assert 0 == result.patches
    assert "no_exception" not in result.broken
    assert 1 == runs
