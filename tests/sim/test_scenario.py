"""Scenario files: the shared ones load, and mistakes are reported as ``location: message``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sbwatch.core.errors import ConfigError
from sbwatch.core.results import EscalationMode
from sbwatch.sim.scenario import load_scenario, parse_scenario
from sbwatch.supabase.tiers import Tier

SHARED = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
MINIMAL = 'name = "x"\n[project]\nref = "abcdefghijklmnopqrst"\n'


@pytest.mark.parametrize("path", sorted(SHARED.glob("*.toml")), ids=lambda p: p.stem)
def test_shared_scenarios_load(path: Path) -> None:
    """Every shared scenario loads, with events sorted by time."""
    scenario = load_scenario(path)
    times = [event["at_s"] for event in scenario.events]
    assert times == sorted(times)
    assert path.stem == scenario.name


def test_may26_values() -> None:
    """The May 26 scenario reads as written."""
    scenario = load_scenario(SHARED / "may26-io-exhaustion.toml")
    assert (6 * 86_400.0, Tier.MICRO, 100.0) == (
        scenario.duration_s,
        scenario.project.tier,
        scenario.project.io_budget_pct,
    )
    policy = scenario.policy
    assert (EscalationMode.AUTO, Tier.SMALL, 30.0, 3600.0) == (
        policy.mode, policy.max_tier, policy.monthly_cost_cap_usd, policy.cooldown_s
    )  # fmt: skip
    assert {"at_s": 72_000.0, "kind": "email", "template": "io_budget_warning"} in scenario.events
    expect = scenario.expect
    assert ("io_budget_low", ("platform_outage", "local_network"), "small", 1, 900.0, 300.0) == (
        expect.diagnosis, expect.never, expect.escalate_to, expect.max_patch_calls,
        expect.first_alert_within_s, expect.max_downtime_s,
    )  # fmt: skip


def test_duration_defaults_to_last_event_plus_6h() -> None:
    """Without duration, the replay runs until 6 h after the last event."""
    text = MINIMAL + '[[events]]\nat = "1d2h"\nkind = "network"\non = false\n'
    assert 26 * 3600.0 + 6 * 3600.0 == parse_scenario(text).duration_s


def test_defaults() -> None:
    """Policy and project fields have defaults; no events is fine."""
    scenario = parse_scenario(MINIMAL)
    assert (Tier.MICRO, EscalationMode.ASK, (), None) == (
        scenario.project.tier, scenario.policy.mode, scenario.events, scenario.expect.diagnosis
    )  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[[events]]\nat = "1h"\nkind = "status_page"\nindicatr = "none"\n',
            "events[0].indicatr: unknown key",
        ),
        (
            '[[events]]\nat = "1h"\nkind = "status_page"\nindicatr = "none"\n',
            "events[0].indicator: required for a status_page event",
        ),
        ('[[events]]\nat = "1h"\nkind = "quake"\n', "events[0].kind: must be one of"),
        (
            '[[events]]\nat = "1x"\nkind = "network"\non = true\n',
            "events[0].at: invalid duration '1x'",
        ),
        ('[[events]]\nkind = "network"\non = true\n', "events[0].at: required"),
        (
            '[[events]]\nat = "1h"\nkind = "network"\non = "yes"\n',
            "events[0].on: must be true or false",
        ),
        (
            '[[events]]\nat = "1h"\nkind = "mgmt_api"\nfault = "flaky"\n',
            "events[0].fault: must be one of",
        ),
        (
            '[[events]]\nat = "1h"\nkind = "workload"\nread_mbps = -3\n',
            "events[0].read_mbps: must be a number",
        ),
        ('[expect]\ndiagnosis = "sadness"\n', "expect.diagnosis: must be one of"),
        ('[expect]\nnever = ["healthy", "meh"]\n', "expect.never[1]: must be one of"),
        ('[expect]\nescalate_to = "huge"\n', "expect.escalate_to: must be one of"),
        ("[expect]\nfirst_alert_within = 5\n", "expect.first_alert_within: must be a duration"),
        ('[policy]\nmode = "yolo"\n', "policy.mode: must be one of"),
        ('color = "red"\n', "project.color: unknown key"),
    ],
)
def test_problems_are_located(extra: str, problem: str) -> None:
    """Unknown keys, kinds and bad values raise ConfigError naming where."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(MINIMAL + extra)
    unlined = [re.sub(r" \(line \d+\)", "", item) for item in caught.value.problems]
    assert any(item.startswith(problem) for item in unlined), caught.value.problems


def test_problems_carry_the_line() -> None:
    """A problem names the line of the offending key in the file."""
    text = MINIMAL + '[[events]]\nat = "1h"\nkind = "status_page"\nindicatr = "none"\n'
    line = len(text.splitlines())
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text)
    assert f"events[0].indicatr (line {line}): unknown key" in caught.value.problems


def test_every_problem_at_once() -> None:
    """All problems are reported together."""
    text = 'duration = "soon"\n[project]\nref = "short"\ntier = "mega"\n'
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text)
    wheres = [problem.split(":")[0] for problem in caught.value.problems]
    assert ["name", "project.ref (line 3)", "project.tier (line 4)", "duration (line 1)"] == wheres


def test_missing_file() -> None:
    """A missing file is a ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"nope\.toml"):
        load_scenario("/nonexistent/nope.toml")


def test_unknown_top_level_key() -> None:
    """An unknown key at the top is named on its own."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario('colour = "red"\n' + MINIMAL)
    assert ["colour (line 1): unknown key"] == caught.value.problems
