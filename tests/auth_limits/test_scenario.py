"""The simulator's auth rate limits: its truth, the shipped scenario's messages in order with
their words, the scorecard's judgement of the warning, the campaign's draws."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sbwatch.core.errors import ConfigError
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import load_scenario, parse_scenario
from sbwatch.sim.score import score_case
from sbwatch.sim.scorecard import cases
from sbwatch.sim.truth import run_world

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "sim" / "scenarios"
SCENARIO = SHIPPED / "auth-rate-limited.toml"
REF = "abcdefghijklmnopqrst"


def test_the_truth_knows_the_refused_route_and_no_failure() -> None:
    """/signup refused from 1h to 3h, /token for one minute at 4h, /recover from 4h30 to
    5h30; nothing fails."""
    timeline = run_world(load_scenario(SCENARIO), [])
    assert timeline.incidents() == []
    refused = {s.at_s: s.auth_refused for s in timeline.samples[REF]}
    assert refused[3600 - 60] == ()
    assert refused[3600] == ("/signup",)
    assert refused[3 * 3600 - 60] == ("/signup",)
    assert refused[3 * 3600] == ()
    assert refused[4 * 3600] == ("/token",)
    assert refused[4 * 3600 + 60] == ()
    assert refused[4 * 3600 + 30 * 60] == ("/recover",)


def test_the_person_reads_each_warning_with_its_lever_then_its_resolve() -> None:
    """/signup: the route, its setting as the auth configuration reads it, the lever and the
    built-in SMTP's limit; resolved once the 429s stopped. Nothing about the burst. /recover
    once a custom SMTP server is set: the same without the SMTP line. No page, no change."""
    report = asyncio.run(replay(load_scenario(SCENARIO)))
    assert [] == [c for c in report["checks"] if not c["passed"]]
    said = [(m["severity"], m["title"].split(": ", 1)[1], m["body"]) for m in report["messages"]]
    signup, signup_resolved, recover, recover_resolved = said
    assert ("warning", "auth rate limited: /signup (12/min) answering 429") == signup[:2]
    assert [
        "Auth route /signup is refusing requests (HTTP 429) steadily: governed by "
        "rate_limit_email_sent (now 2).",
        f"Raise it: PATCH /v1/projects/{REF}/config/auth with rate_limit_email_sent.",
        "built-in SMTP: 2 emails an hour; set custom SMTP (smtp_host and its fields, in the "
        "same configuration).",
        "Users are being refused; the project is up. sbwatch changes no setting here.",
    ] == signup[2].splitlines()[:4]
    assert signup_resolved[1].startswith("auth rate limited: /signup (12/min) answering 429 (")
    assert ("warning", "auth rate limited: /recover (20/min) answering 429") == recover[:2]
    assert [
        "Auth route /recover is refusing requests (HTTP 429) steadily: governed by "
        "rate_limit_email_sent (now 2).",
        f"Raise it: PATCH /v1/projects/{REF}/config/auth with rate_limit_email_sent.",
        "Users are being refused; the project is up. sbwatch changes no setting here.",
    ] == recover[2].splitlines()[:3]
    assert recover_resolved[1].startswith("auth rate limited: /recover (20/min) answering 429 (")
    titles = [m["title"] for m in report["messages"]]
    assert [t.split(" ", 1)[0] for t in titles] == ["WARNING", "RESOLVED", "WARNING", "RESOLVED"]
    at = [m["at_s"] for m in report["messages"]]
    assert 3600 + 5 * 60 <= at[0] < 2 * 3600
    assert 3 * 3600 <= at[1] < 4 * 3600
    assert 4.5 * 3600 + 5 * 60 <= at[2] < 5.5 * 3600 <= at[3]


def test_the_scorecard_bears_the_warning_out_and_judges_one_long_after_the_burst_false() -> None:
    scenario = load_scenario(SCENARIO)
    report = asyncio.run(replay(scenario))
    assert score_case(scenario, report).findings == []
    said = report["alerts"][0]
    burst = dict(said, title=said["title"].replace("/signup (12/min)", "/token (80/min)"))
    burst["at_s"] = 5 * 3600  # the burst was over an hour before
    report = dict(report, alerts=[*report["alerts"], burst])
    found = score_case(scenario, report).findings
    assert [f.rule for f in found] == ["false_warning"]


def test_an_auth_limit_event_names_a_bad_route() -> None:
    text = SCENARIO.read_text().replace('route = "/signup"', 'route = "/nowhere"', 1)
    with pytest.raises(ConfigError, match="route"):
        parse_scenario(text)


def test_the_campaign_draws_auth_limits_apart() -> None:
    """Some cases of a seed refuse a route; taking those events out leaves every other event
    as drawn (a generator of its own)."""
    drawn = [[e for e in case["events"] if e["kind"] == "auth_limit"] for case in cases(2, 20, 1)]
    assert any(drawn)
    assert all(len(d) in (0, 2) for d in drawn)
    assert all(d[1]["refused_per_minute"] == 0 for d in drawn if d)


def test_the_fast_path_gives_the_full_paths_report() -> None:
    """Quiet minutes skipped and answers handed over (sim/quiet.py) decide as the full path
    through HTTP does, with the 429 counters served as text and read back."""
    scenario = load_scenario(SCENARIO)
    fast = asyncio.run(replay(scenario, fast=True))
    full = asyncio.run(replay(scenario, fast=False))
    assert full["messages"] == fast["messages"]
    assert full == fast
