"""Chaos replay: generated cases, the invariants, and a planted bug found and shrunk."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import sbwatch.policy.escalation as escalation
from sbwatch.core.results import DiagnosisKind
from sbwatch.sim.fuzz import campaign, generate, run_case, to_toml
from sbwatch.sim.invariants import invariant_checks
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import EVENT_KEYS, load_scenario, parse_scenario

FOUND = Path(__file__).parents[1] / "replay" / "data" / "fuzz"


def test_cases_are_valid_scenarios_and_cover_every_kind() -> None:
    """Sixty cases: each parses as a scenario; together they use every event kind."""
    rng = random.Random(5)
    docs = [generate(rng, 1.0, i) for i in range(60)]
    scenarios = [parse_scenario(to_toml(doc)) for doc in docs]
    kinds = {e["kind"] for s in scenarios for e in s.events}
    assert set(EVENT_KEYS) == kinds
    assert {True, False} == {e["spoofed"] for s in scenarios for e in s.events if "spoofed" in e}
    assert {1, 2} == {len(s.projects) for s in scenarios}
    assert {"auto", "ask", "off"} == {s.policy.mode.value for s in scenarios}
    assert all(s.expect.invariants for s in scenarios)


def test_a_seed_gives_the_same_cases() -> None:
    """The campaign is reproducible from its seed alone."""
    first = [generate(random.Random(9), 0.5, i) for i in range(3)]
    again = [generate(random.Random(9), 0.5, i) for i in range(3)]
    assert first == again
    assert generate(random.Random(9), 0.5) != generate(random.Random(10), 0.5)


def _report(**parts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"changes": [], "escalations": [], "alerts": [], "held": []}
    return base | {"open_alerts": [], "true_end": {}, "series": []} | parts


def _change(**fields: Any) -> dict[str, Any]:
    base = {"at_s": 3600.0, "project": "abcdefghijklmnopqrst", "from": "micro", "to": "small"}
    calm = {"platform_outage": False, "network_up": True, "paused": False, "applied": True}
    need = {"budget_ratio": 0.01, "lowest_budget": 0.01, "draining": True, "throttled": True}
    return base | calm | need | fields


SCENARIO = """
name = "rules"
duration = "6h"
[project]
ref = "abcdefghijklmnopqrst"
tier = "micro"
io_budget_pct = 50
[policy]
mode = "auto"
max_tier = "medium"
monthly_cost_cap_usd = 70
cooldown = "1h"
[[events]]
at = "10m"
kind = "platform_outage"
on = true
[[events]]
at = "2h"
kind = "platform_outage"
on = false
[expect]
invariants = true
"""


def _broken(report: dict[str, Any]) -> dict[str, str]:
    checks = invariant_checks(parse_scenario(SCENARIO), report)
    return {c["name"]: c["detail"] for c in checks if not c["passed"]}


def test_a_clean_report_keeps_every_rule() -> None:
    """One needed change, one alert opened and resolved: nothing broken."""
    alerts = [
        {"at_s": 0.0, "key": "k:io_budget", "kind": "open", "title": "t", "body": "b"},
        {"at_s": 9.0, "key": "k:io_budget", "kind": "resolve", "title": "t", "body": "b"},
    ]
    assert {} == _broken(_report(changes=[_change(at_s=3.0 * 3600)], alerts=alerts))


@pytest.mark.parametrize(
    ("parts", "rule", "words"),
    [
        ({"changes": [_change(platform_outage=True)]}, "no_patch_without_cause", "outage"),
        ({"changes": [_change(network_up=False)]}, "no_patch_without_cause", "network"),
        ({"changes": [_change(paused=True)]}, "no_patch_without_cause", "paused"),
        (
            {"changes": [_change(draining=False, throttled=False, lowest_budget=0.9)]},
            "no_patch_without_cause",
            "no disk IO need",
        ),
        (
            {
                "escalations": [
                    {
                        "at_s": 1200.0,
                        "project": "abcdefghijklmnopqrst",
                        "to": "small",
                        "actor": "daemon",
                        "budget": None,
                    }
                ]
            },
            "no_patch_without_cause",
            "decided at 0d00h20m during a platform outage",
        ),
        ({"changes": [_change(to="large")]}, "patch_bounds", "above max_tier"),
        ({"changes": [_change(**{"from": "small", "to": "micro"})]}, "patch_bounds", "goes down"),
        ({"changes": [_change(to="small", **{"from": "small"})]}, "one_patch_per_need", "already"),
        (
            {"changes": [_change(at_s=3 * 3600.0), _change(at_s=3 * 3600.0 + 600)]},
            "one_patch_per_need",
            "within the cooldown",
        ),
        (
            {
                "escalations": [
                    {
                        "at_s": 9000.0,
                        "project": "abcdefghijklmnopqrst",
                        "to": "small",
                        "actor": "daemon",
                        "budget": {"ratio": 0.4, "eta_s": None, "refills": True},
                    }
                ]
            },
            "not_while_refilling",
            "refills",
        ),
        (
            {
                "alerts": [
                    {"at_s": 0.0, "key": "k:x", "kind": "open"},
                    {"at_s": 5.0, "key": "k:x", "kind": "open"},
                ]
            },
            "alerts_delivered_once",
            "opened again",
        ),
        (
            {"alerts": [{"at_s": 5.0, "key": "k:x", "kind": "resolve"}]},
            "alerts_delivered_once",
            "not open",
        ),
        (
            {
                "open_alerts": [
                    {
                        "key": "abcdefghijklmnopqrst:service:rest",
                        "title": "rest down",
                        "project": "abcdefghijklmnopqrst",
                    }
                ]
            },
            "alerts_resolve",
            "still open",
        ),
    ],
)
def test_each_rule_catches_its_breach(parts: dict[str, Any], rule: str, words: str) -> None:
    """A report with one planted breach fails exactly that rule, and says what broke."""
    broken = _broken(_report(**parts))
    assert [rule] == list(broken)
    assert words in broken[rule]


def test_a_latched_budget_alert_may_stay_open() -> None:
    """An IO budget alert open at the end on a budget not full again is the latch, not a leak."""
    alert = {
        "key": "abcdefghijklmnopqrst:io_budget",
        "title": "t",
        "project": "abcdefghijklmnopqrst",
    }
    truth = {"abcdefghijklmnopqrst": {"budget_ratio": 0.6, "down": [], "paused": False}}
    assert {} == _broken(_report(open_alerts=[alert], true_end=truth))


def test_a_planted_bug_is_found_and_shrunk(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Escalation allowed on a platform outage: the campaign finds it and writes a small case."""
    planted = escalation.FIXABLE | {DiagnosisKind.PLATFORM_OUTAGE}
    monkeypatch.setattr(escalation, "FIXABLE", planted)
    found = campaign(53, 1, 0.25, out_dir=tmp_path, shrink_budget=30)
    assert 1 == len(found.failures)
    outcome, small, path = found.failures[0]
    assert "no_patch_without_cause" in outcome.names
    assert path is not None
    assert path.exists()
    assert len(small["events"]) < len(outcome.doc["events"])
    scenario = load_scenario(path)
    report = asyncio.run(replay(scenario))
    assert not {c["name"]: c["passed"] for c in report["checks"]}["no_patch_without_cause"]
    monkeypatch.setattr(escalation, "FIXABLE", planted - {DiagnosisKind.PLATFORM_OUTAGE})
    assert [] == run_case(small).broken


@pytest.mark.parametrize("path", sorted(FOUND.glob("*.toml")), ids=lambda p: p.stem)
def test_cases_found_by_the_fuzzer_hold(path: Path) -> None:
    """Each case a campaign once broke is a scenario test: every check holds now."""
    report = asyncio.run(replay(load_scenario(path)))
    assert [] == [c for c in report["checks"] if not c["passed"]]


def test_the_command_runs_a_campaign(tmp_path: Path) -> None:
    """`sbwatch sim fuzz` replays the cases, reports cases per second and exits 0 when all held."""
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sbwatch",
            "sim",
            "fuzz",
            "--seed",
            "2",
            "--count",
            "4",
            "--days",
            "0.25",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert 0 == run.returncode, run.stdout + run.stderr
    assert "4 cases in" in run.stdout
    assert "cases/s" in run.stdout
    assert "0 broke an invariant" in run.stdout
    assert [] == list(tmp_path.iterdir())
