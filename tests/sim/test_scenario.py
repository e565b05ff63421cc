"""Scenario files: the design's ones load, and mistakes are reported as ``location: message``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sbwatch.core.errors import ConfigError
from sbwatch.core.results import EscalationMode
from sbwatch.core.tiers import Tier
from sbwatch.sim.scenario import load_scenario, parse_scenario

SHARED = Path(__file__).resolve().parents[1] / "fixtures" / "scenarios"
MINIMAL = 'name = "x"\n[project]\nref = "abcdefghijklmnopqrst"\n'


@pytest.mark.parametrize("path", sorted(SHARED.glob("*.toml")), ids=lambda p: p.stem)
def test_shared_scenarios_load(path: Path) -> None:
    """Every scenario of the design loads, with events sorted by time."""
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


HOURS = "[" + ", ".join(["5"] * 8 + ["15"] * 12 + ["8"] * 4) + "]"


def test_workload_iops_and_pattern_events() -> None:
    """read_iops/write_iops on a workload, and a pattern event with its series, read as given."""
    text = (
        MINIMAL
        + '[[events]]\nat = "0s"\nkind = "workload"\nread_mbps = 3\nread_iops = 800\n'
        + f'[[events]]\nat = "1d"\nkind = "pattern"\nhours = {HOURS}\n'
        + "weekdays = [1, 1, 1, 1, 1, 0.5, 0.5]\n"
    )
    workload, pattern = parse_scenario(text).events
    assert {"at_s": 0.0, "kind": "workload", "read_mbps": 3.0, "read_iops": 800.0} == workload
    assert (86_400.0, "pattern", 24, [1.0] * 5 + [0.5] * 2) == (
        pattern["at_s"], pattern["kind"], len(pattern["hours"]), pattern["weekdays"]
    )  # fmt: skip


def test_several_projects() -> None:
    """[[projects]]: every project with its own tier, budget and hidden limits; events by ref."""
    text = (
        'name = "two"\n'
        '[[projects]]\nref = "abcdefghijklmnopqrst"\ntier = "micro"\n'
        '[[projects]]\nref = "qrstuvwxyzabcdefghij"\ntier = "small"\nio_budget_pct = 50\n'
        "true_limits_factor = 1.3\n"
        '[[events]]\nat = "0s"\nkind = "workload"\nref = "qrstuvwxyzabcdefghij"\nread_mbps = 1\n'
        "[expect]\n"
        'escalate_to = { abcdefghijklmnopqrst = "small", qrstuvwxyzabcdefghij = "none" }\n'
    )
    scenario = parse_scenario(text)
    assert [("abcdefghijklmnopqrst", Tier.MICRO, 100.0, 1.0),
            ("qrstuvwxyzabcdefghij", Tier.SMALL, 50.0, 1.3)] == [
        (p.ref, p.tier, p.io_budget_pct, p.true_limits_factor) for p in scenario.projects
    ]  # fmt: skip
    assert scenario.project is scenario.projects[0]
    assert (None, {"abcdefghijklmnopqrst": "small", "qrstuvwxyzabcdefghij": "none"}) == (
        scenario.expect.escalate_to,
        scenario.expect.escalate_to_each,
    )


def test_one_project_table_still_works() -> None:
    """[project] gives a one-project scenario, projects included; the factor defaults to 1.0."""
    scenario = parse_scenario(MINIMAL + "true_limits_factor = 1.2\n")
    assert (scenario.project,) == scenario.projects
    assert 1.2 == scenario.project.true_limits_factor


def test_expected_messages() -> None:
    """[[expect.messages]] in order, each a severity and/or a title pattern; max_messages."""
    text = (
        MINIMAL
        + "[expect]\nmax_messages = 3\n"
        + '[[expect.messages]]\nseverity = "warning"\ntitle = "disk IO budget"\n'
        + "[[expect.messages]]\ntitle = 'raising compute \\w+ -> small'\n"
    )
    expect = parse_scenario(text).expect
    assert 3 == expect.max_messages
    warning, change = expect.messages
    assert ("warning", "disk IO budget", None) == (warning.severity, warning.title, change.severity)
    assert change.matches({"severity": "critical", "title": "raising compute micro -> small"})
    assert not warning.matches({"severity": "critical", "title": "disk IO budget 3% left"})


def test_expected_message_bodies_and_messages_never_sent() -> None:
    """A contains pattern must be found in the title or body; [[expect.no_messages]] lists what
    must not be sent at all."""
    text = (
        MINIMAL
        + "[expect]\n[[expect.messages]]\ntitle = 'paused'\ncontains = 'Part of it: rest'\n"
        + "[[expect.no_messages]]\ntitle = 'RESOLVED .* is down'\n"
    )
    expect = parse_scenario(text).expect
    (paused,) = expect.messages
    assert paused.matches({"title": "project is paused", "body": "x\nPart of it: rest is down."})
    assert not paused.matches({"title": "project is paused", "body": "project status INACTIVE"})
    (never,) = expect.no_messages
    assert never.matches({"title": "RESOLVED p: rest is down (lasted 5m)", "body": ""})


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[[events]]\nat = "0s"\nkind = "workload"\nread_iops = "lots"\n',
            "events[0].read_iops (line 7): must be a number from 0 to 1e+06",
        ),
        (
            '[[events]]\nat = "0s"\nkind = "pattern"\nhours = [1, 2, 3]\n',
            "events[0].hours (line 7): must be a list of 24 numbers from 0 to 1e+06",
        ),
        (
            f'[[events]]\nat = "0s"\nkind = "pattern"\nhours = {HOURS}\nweekdays = [1, 2]\n',
            "events[0].weekdays (line 8): must be a list of 7 numbers from 0 to 100",
        ),
        (
            '[[events]]\nat = "0s"\nkind = "pattern"\nread_iops_hours = []\n',
            "events[0].hours (line 4): required for a pattern event",
        ),
        (
            f'[[events]]\nat = "0s"\nkind = "pattern"\nhours = {HOURS}\nhourz = 1\n',
            "events[0].hourz (line 8): unknown key",
        ),
        (
            '[[events]]\nat = "0s"\nkind = "network"\non = true\nref = "zzzzzzzzzzzzzzzzzzzz"\n',
            "events[0].ref (line 8): not a project of this scenario (abcdefghijklmnopqrst)",
        ),
        ("true_limits_factor = 0.8\n", "project.true_limits_factor (line 4): must be a number"),
        (
            "[expect]\nmax_messages = 2.5\n",
            "expect.max_messages (line 5): must be a whole number",
        ),
        (
            '[expect]\n[[expect.messages]]\nseverity = "loud"\n',
            "expect.messages[0].severity (line 6): must be one of info, warning, critical",
        ),
        (
            "[expect]\n[[expect.messages]]\ntitle = '('\n",
            "expect.messages[0].title (line 6): not a regular expression",
        ),
        (
            "[expect]\n[[expect.messages]]\ntext = 'x'\n",
            "expect.messages[0].text (line 6): unknown key",
        ),
        (
            "[expect]\n[[expect.messages]]\ntext = 'x'\n",
            "expect.messages[0] (line 5): needs a severity, a title pattern or a contains pattern",
        ),
        (
            '[expect]\nescalate_to = { zzzzzzzzzzzzzzzzzzzz = "small" }\n',
            "expect.escalate_to.zzzzzzzzzzzzzzzzzzzz (line 5): not a project of this scenario",
        ),
        (
            '[expect]\nescalate_to = { abcdefghijklmnopqrst = "huge" }\n',
            "expect.escalate_to.abcdefghijklmnopqrst (line 5): must be one of",
        ),
    ],
)
def test_new_keys_are_validated_with_their_line(extra: str, problem: str) -> None:
    """Every new key is checked and its problem located like the existing ones."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(MINIMAL + extra)
    assert any(item.startswith(problem) for item in caught.value.problems), caught.value.problems


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            MINIMAL + '[[projects]]\nref = "qrstuvwxyzabcdefghij"\n',
            "projects: write either [project] or [[projects]], not both",
        ),
        (
            'name = "x"\n[[projects]]\nref = "abcdefghijklmnopqrst"\n'
            '[[projects]]\nref = "abcdefghijklmnopqrst"\n',
            "projects[1].ref (line 5): abcdefghijklmnopqrst is already a project",
        ),
        (
            'name = "x"\n[[projects]]\nref = "abcdefghijklmnopqrst"\n'
            '[[projects]]\nref = "qrstuvwxyzabcdefghij"\ntierr = "small"\n',
            "projects[1].tierr (line 6): unknown key",
        ),
        ('name = "x"\nprojects = []\n', "projects (line 2): must be an array of tables"),
    ],
)
def test_projects_problems(text: str, problem: str) -> None:
    """[[projects]] mistakes are located too."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text)
    assert any(item.startswith(problem) for item in caught.value.problems), caught.value.problems


def test_outside_resize_event() -> None:
    """An outside_resize event: the dashboard's new size, for one project or every one."""
    text = MINIMAL + '[[events]]\nat = "2h"\nkind = "outside_resize"\ntier = "small"\n'
    assert ({"at_s": 7200.0, "kind": "outside_resize", "tier": "small"},) == (
        parse_scenario(text).events
    )


def test_policy_knobs() -> None:
    """max_steps, escalate_within and the warn horizons read as given; absent, None."""
    text = MINIMAL + (
        '[policy]\nmax_steps = 2\nescalate_within = "30m"\nwarn_horizon = "2d"\n'
        'pattern_warn_horizon = "5d"\ncritical_horizon = "90m"\n'
    )
    policy = parse_scenario(text).policy
    assert (2, 1800.0, 172_800.0, 432_000.0, 5400.0) == (
        policy.max_steps,
        policy.escalate_within_s,
        policy.warn_horizon_s,
        policy.pattern_warn_horizon_s,
        policy.critical_horizon_s,
    )
    default = parse_scenario(MINIMAL).policy
    assert (None, None, None, None, None) == (
        default.max_steps,
        default.escalate_within_s,
        default.warn_horizon_s,
        default.pattern_warn_horizon_s,
        default.critical_horizon_s,
    )


def test_message_body_expectations() -> None:
    """contains / not_contains (any case, title or body), no_messages and per-project counts."""
    text = MINIMAL + (
        "[expect]\nmax_messages_per_project = 4\n"
        '[[expect.messages]]\nseverity = "critical"\ncontains = "Run: sbwatch escalate"\n'
        'not_contains = "outage"\n'
        '[[expect.no_messages]]\nseverity = "critical"\nkind = "resolve"\ncontains = "db"\n'
    )
    expect = parse_scenario(text).expect
    (raise_,) = expect.messages
    (unwanted,) = expect.no_messages
    assert (4, {}) == (expect.max_messages_per_project, expect.max_messages_each)
    sent = {"severity": "critical", "title": "raising", "body": "run: SBWATCH escalate x"}
    assert raise_.matches(sent)
    assert not raise_.offends(sent)
    assert raise_.offends({**sent, "title": "platform OUTAGE"})
    assert not raise_.matches({**sent, "body": "nothing to run"})
    resolve = {"severity": "critical", "kind": "resolve", "title": "RESOLVED DB is down"}
    assert unwanted.matches(resolve)
    assert not unwanted.matches({**resolve, "kind": "open"})


def test_per_project_message_counts_by_ref() -> None:
    """max_messages_per_project as a table: one limit per project ref."""
    text = (
        'name = "two"\n[[projects]]\nref = "abcdefghijklmnopqrst"\n'
        '[[projects]]\nref = "qrstuvwxyzabcdefghij"\n'
        "[expect]\nmax_messages_per_project = { abcdefghijklmnopqrst = 3, "
        "qrstuvwxyzabcdefghij = 0 }\n"
    )
    expect = parse_scenario(text).expect
    assert (None, {"abcdefghijklmnopqrst": 3, "qrstuvwxyzabcdefghij": 0}) == (
        expect.max_messages_per_project,
        expect.max_messages_each,
    )


@pytest.mark.parametrize(
    ("extra", "problem"),
    [
        (
            '[[events]]\nat = "1h"\nkind = "outside_resize"\n',
            "events[0].tier (line 4): required for an outside_resize event",
        ),
        (
            '[[events]]\nat = "1h"\nkind = "outside_resize"\ntier = "huge"\n',
            "events[0].tier (line 7): must be one of nano, micro, small",
        ),
        (
            '[[events]]\nat = "1h"\nkind = "outside_resize"\ntier = "small"\nvia = "web"\n',
            "events[0].via (line 8): unknown key",
        ),
        ("[policy]\nmax_steps = 0\n", "policy.max_steps (line 5): must be a whole number from 1"),
        ("[policy]\nmax_steps = 9\n", "policy.max_steps (line 5): must be a whole number from 1"),
        ("[policy]\nmax_steps = 1.5\n", "policy.max_steps (line 5): must be a whole number"),
        ("[policy]\nmax_steps = true\n", "policy.max_steps (line 5): must be a whole number"),
        (
            '[policy]\nescalate_within = "0s"\n',
            "policy.escalate_within (line 5): must be longer than 0s",
        ),
        ("[policy]\nwarn_horizon = 3600\n", "policy.warn_horizon (line 5): must be a duration"),
        (
            '[policy]\npattern_warn_horizon = "3 days"\n',
            "policy.pattern_warn_horizon (line 5): invalid duration",
        ),
        (
            '[policy]\ncritical_horizon = "0m"\n',
            "policy.critical_horizon (line 5): must be longer than 0s",
        ),
        ('[policy]\nwarn_horizn = "1d"\n', "policy.warn_horizn (line 5): unknown key"),
        (
            "[expect]\n[[expect.messages]]\ncontains = '(unclosed'\n",
            "expect.messages[0].contains (line 6): not a regular expression",
        ),
        (
            "[expect]\n[[expect.messages]]\ntitle = 'x'\nnot_contains = 3\n",
            "expect.messages[0].not_contains (line 7): must be a string",
        ),
        (
            "[expect]\n[[expect.messages]]\nnot_contains = 'outage'\n",
            "expect.messages[0] (line 5): needs a severity, a title pattern or a contains",
        ),
        (
            "[expect]\n[[expect.no_messages]]\nbody = 'x'\n",
            "expect.no_messages[0].body (line 6): unknown key",
        ),
        (
            "[expect]\n[[expect.no_messages]]\nbody = 'x'\n",
            "expect.no_messages[0] (line 5): needs a severity, a kind, a title or a contains",
        ),
        (
            "[expect]\n[[expect.no_messages]]\nkind = 'page'\n",
            "expect.no_messages[0].kind (line 6): must be one of open, update, remind, resolve",
        ),
        (
            "[expect]\n[[expect.no_messages]]\ncontains = '['\n",
            "expect.no_messages[0].contains (line 6): not a regular expression",
        ),
        ("[expect]\nno_messages = 'db'\n", "expect.no_messages (line 5): must be an array"),
        (
            "[expect]\nmax_messages_per_project = -1\n",
            "expect.max_messages_per_project (line 5): must be a whole number from 0",
        ),
        (
            "[expect]\nmax_messages_per_project = 2.5\n",
            "expect.max_messages_per_project (line 5): must be a whole number",
        ),
        (
            "[expect]\nmax_messages_per_project = { zzzzzzzzzzzzzzzzzzzz = 2 }\n",
            "expect.max_messages_per_project.zzzzzzzzzzzzzzzzzzzz (line 5): not a project",
        ),
        (
            '[expect]\nmax_messages_per_project = { abcdefghijklmnopqrst = "2" }\n',
            "expect.max_messages_per_project.abcdefghijklmnopqrst (line 5): must be a whole",
        ),
    ],
)
def test_format_growth_is_validated_with_its_line(extra: str, problem: str) -> None:
    """The outside_resize event, the policy knobs and the message expectations name the key
    and its line when wrong."""
    with pytest.raises(ConfigError) as caught:
        parse_scenario(MINIMAL + extra)
    assert any(item.startswith(problem) for item in caught.value.problems), caught.value.problems
