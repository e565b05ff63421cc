"""`sbwatch sim replay` and `sbwatch demo` from the command line: exit codes and the report."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from tests.replay.conftest import (
    DATA,
    SHARED,
    SHIPPED,
    LongRuns,
    replay_json,
    run_cli,
    run_here,
    scenario_path,
)

pytestmark = [pytest.mark.slow]

DAY_S = 86_400.0
TOP_KEYS = {
    "scenario",
    "passed",
    "diagnoses",
    "alerts",
    "escalations",
    "patch_calls",
    "patch_attempts",
    "downtime_s",
    "first_alert_s",
    "checks",
}
ITEM_KEYS = {
    "diagnoses": {"at_s", "kind"},
    "alerts": {"at_s", "severity", "title"},
    "escalations": {"at_s", "from", "to", "outcome"},
    "checks": {"name", "passed", "detail"},
}


def missing_keys(report: dict[str, Any]) -> list[str]:
    """Every key of the report format (shared/DESIGN.md) that the report lacks."""
    missing = sorted(TOP_KEYS - report.keys())
    for name, keys in ITEM_KEYS.items():
        for index, item in enumerate(report.get(name, [])):
            missing.extend(f"{name}[{index}].{key}" for key in sorted(keys - item.keys()))
    return missing


DIVERGED: dict[str, tuple[str, ...]] = {
    "may26-io-exhaustion.toml": ("expect",),
    "platform-outage.toml": ("expect",),
}
"""Shipped scenarios whose expectations differ from the shared copy, and in which tables."""
OWN = (
    "disk-grow-once.toml",
    "disk-quota-read-only.toml",
    "connection-leak.toml",
    "memory-leak-oom.toml",
    "cpu-saturated.toml",
    "auth-rate-limited.toml",
)
"""Shipped scenarios of sbwatch's own, with no shared copy."""


def test_shipped_scenarios_match_the_shared_ones() -> None:
    """The scenarios packaged with sbwatch are the shared ones: byte for byte, or, where the
    simulated world changed what must be expected, the same timeline with the differing tables
    explained in the shipped file's opening comment."""
    shipped = sorted(p.name for p in SHIPPED.glob("*.toml") if p.name not in OWN)
    assert ["may26-io-exhaustion.toml", "platform-outage.toml"] == shipped
    assert sorted(p.name for p in SHARED.glob("*.toml")) == shipped
    for name in shipped:
        ours, theirs = (SHIPPED / name).read_bytes(), (SHARED / name).read_bytes()
        if name not in DIVERGED:
            assert theirs == ours, name
            continue
        mine, shared = tomllib.loads(ours.decode()), tomllib.loads(theirs.decode())
        keys = mine.keys() | shared.keys()
        differ = sorted(key for key in keys if mine.get(key) != shared.get(key))
        assert sorted(DIVERGED[name]) == differ, name
        assert "Why this copy differs from shared/scenarios/" in ours.decode(), name


def test_platform_outage_replays_and_passes() -> None:
    """The 3-hour platform outage: exit 0, every report key, no escalation, every check held."""
    run = replay_json(scenario_path("platform-outage.toml"))
    assert 0 == run.code, run.stderr
    report = run.report
    assert [] == missing_keys(report)
    assert ("platform-outage", True) == (report["scenario"], report["passed"])
    assert [] == [c for c in report["checks"] if not c["passed"]]
    assert (0, 0, []) == (report["patch_calls"], report["patch_attempts"], report["escalations"])
    assert "platform_outage" in {d["kind"] for d in report["diagnoses"]}


def test_may26_replays_and_passes(long_runs: LongRuns) -> None:
    """The six-day May 26 drain: exit 0, every report key, every check held."""
    assert 0 == long_runs.may26.code, long_runs.may26.stderr
    report = long_runs.may26.report
    assert [] == missing_keys(report)
    assert ("may26-io-exhaustion", True) == (report["scenario"], report["passed"])
    names = [c["name"] for c in report["checks"]]
    expected = ["diagnosis", "never", "escalate_to", "max_patch_calls", "first_alert_within"]
    assert [*expected, "max_downtime", "messages", "no_messages"] == names
    assert [] == [c for c in report["checks"] if not c["passed"]]


def test_may26_escalates_to_small_once_and_recovers(long_runs: LongRuns) -> None:
    """micro -> small on day five, once; the resize is the only time a service is down."""
    report = long_runs.may26.report
    steps = [(e["from"], e["to"], e["outcome"]) for e in report["escalations"]]
    assert [("micro", "small", "recovered")] == steps
    assert (1, 1) == (report["patch_calls"], report["patch_attempts"])
    assert report["downtime_s"] <= 300
    kinds = {d["kind"] for d in report["diagnoses"]}
    assert set() == kinds & {"platform_outage", "local_network"}


def test_may26_escalates_before_the_true_budget_runs_out(long_runs: LongRuns) -> None:
    """The change lands before the simulator's true micro budget reaches zero."""
    report = long_runs.may26.report
    first = report["escalations"][0]["at_s"]
    on_micro = [p["true"] for p in report["series"] if p["at_s"] <= first]
    assert min(on_micro) > 0.0
    assert {"small"} == {p["tier"] for p in report["series"] if p["at_s"] > first + 300}


def test_may26_messages_tell_the_story(long_runs: LongRuns) -> None:
    """A warning before Supabase's email, the burst, the change and its recovery; then, small
    being too small for the whole burst at max_tier small, a warning at once with the command,
    one last call as the change falls due, and the throttling said and resolved."""
    report = long_runs.may26.report
    messages = report["messages"]
    assert messages == [{k: a[k] for k in messages[0]} for a in report["alerts"]]
    warning = messages[0]
    assert ("warning", True) == (warning["severity"], "disk IO budget" in warning["title"])
    assert "runs out in ~1d" in warning["title"]
    assert warning["at_s"] < report["reference_event_s"]  # before Supabase's own email
    (change,) = [m for m in messages if "raising compute" in m["title"]]
    (recovery,) = [m for m in messages if "recovered on" in m["title"]]
    assert "raising compute micro -> small" in change["title"]
    assert "then throughput is held at 22 MB/s" in change["body"]  # small will not last
    assert "sbwatch escalate abcdefghijklmnopqrst --to medium" in change["body"]
    assert change["at_s"] < recovery["at_s"] <= change["at_s"] + 300
    burst = [m for m in messages if 5 * DAY_S <= m["at_s"] < change["at_s"]]
    assert {"warning"} == {m["severity"] for m in burst}  # sbwatch raises it in time: no page
    assert "Forecast from a burst above this hour's usual" in burst[0]["body"]
    after = [m for m in messages if m["at_s"] > recovery["at_s"]]
    assert "disk IO budget 100% left, runs out in" in after[0]["title"]  # on small, at once
    assert "sbwatch escalate abcdefghijklmnopqrst --to medium" in after[0]["body"]
    assert "max_tier is small" in after[0]["body"]
    failing = [m for m in after if m["title"].endswith("services throttled and failing")]
    assert failing
    # between small's outlook and its failure, one last call as the change falls due (2 h)
    (last_call,) = [m for m in after[1:] if m["at_s"] < failing[0]["at_s"]]
    assert "runs out in ~1h" in last_call["title"]
    assert after[-1]["title"].startswith("RESOLVED ")
    # over when the burst ends; the budget warning resolves once small's budget has refilled
    assert all(m["at_s"] < 5 * DAY_S + 13 * 3600 for m in after[:-1])


def test_may26_no_false_alarm_of_a_day_left_while_the_nights_refill(
    long_runs: LongRuns,
) -> None:
    """Once a day of history shows the nights refilling, no warning says the budget runs out
    within a day until day five's peak really makes it so."""
    report = long_runs.may26.report
    within_a_day = re.compile(r"runs out in ~(1d|\d+h|\d+m)")
    false = [
        m["title"]
        for m in report["messages"]
        if DAY_S <= m["at_s"] < 5 * DAY_S and within_a_day.search(m["title"])
    ]
    assert [] == false


def test_may26_folds_the_provider_email_into_the_open_warning(long_runs: LongRuns) -> None:
    """Supabase's email confirms the warning already sent: recorded on it, not sent again."""
    report = long_runs.may26.report
    folded = [h for h in report["held"] if h["note"].startswith("provider email folded")]
    assert [(72000.0, "abcdefghijklmnopqrst:io_budget")] == [(h["at_s"], h["key"]) for h in folded]
    assert 72000.0 == report["first_alert_s"] == report["reference_event_s"]
    check = next(c for c in report["checks"] if c["name"] == "first_alert_within")
    assert check["detail"].startswith("folded into the open alert 0s after")


def write(tmp: Path, text: str) -> Path:
    """A scenario file in ``tmp``."""
    path = tmp / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_key_exits_2_naming_it(tmp_path: Path) -> None:
    """A misspelt event key: exit 2 and stderr names the key and its event."""
    text = (DATA / "service-down.toml").read_text().replace("up = false", "upp = false")
    line = 1 + text.splitlines().index("upp = false")
    run = run_cli("sim", "replay", write(tmp_path, text), "--json")
    assert 2 == run.code
    assert f"events[1].upp (line {line}): unknown key" in run.stderr
    assert "" == run.stdout


def test_bad_kind_exits_2_naming_it(tmp_path: Path) -> None:
    """An event of an unknown kind: exit 2 and stderr names the location and the bad value."""
    text = (DATA / "paused.toml").read_text().replace('kind = "project"', 'kind = "projekt"', 1)
    run = run_here("sim", "replay", write(tmp_path, text), "--json")
    assert 2 == run.code
    line = 1 + text.splitlines().index('kind = "projekt"')
    assert f"events[1].kind (line {line}): must be one of" in run.stderr
    assert "'projekt'" in run.stderr


def test_unknown_top_level_and_expect_keys_exit_2(tmp_path: Path) -> None:
    """Unknown keys at the top, in [expect] and in an event are all reported at once."""
    text = 'durationn = "1h"\n' + (DATA / "paused.toml").read_text()
    text = text.replace("max_patch_calls = 0", "max_patch_call = 0")
    text = text.replace('state = "paused"', 'state = "paused"\nfor = "5m"')
    run = run_here("sim", "replay", write(tmp_path, text))
    assert 2 == run.code
    lines = text.splitlines()
    at = [1, 1 + lines.index('for = "5m"'), 1 + lines.index("max_patch_call = 0")]
    keys = ["durationn", "events[1].for", "expect.max_patch_call"]
    expected = [f"{key} (line {line})" for key, line in zip(keys, at, strict=True)]
    assert expected == [line.split(":")[0] for line in run.stderr.splitlines()]


def test_failed_expectation_exits_1(tmp_path: Path) -> None:
    """A short scenario expecting a change to medium that never comes: exit 1, check failed."""
    text = (DATA / "service-down.toml").read_text()
    text = text.replace('escalate_to = "none"', 'escalate_to = "medium"')
    run = replay_json(write(tmp_path, text))
    assert 1 == run.code
    report = run.report
    assert False is report["passed"]
    failed = [c["name"] for c in report["checks"] if not c["passed"]]
    assert ["escalate_to"] == failed


def test_failed_expectation_text_output_says_failed(tmp_path: Path) -> None:
    """Without --json the checks print one line each, the failed one marked FAILED."""
    text = (DATA / "paused.toml").read_text().replace('"project_paused"', '"disk_full"')
    run = run_cli("sim", "replay", write(tmp_path, text))
    assert 1 == run.code
    assert "[FAILED] diagnosis: wanted disk_full" in run.stdout


def test_demo_writes_its_report(long_runs: LongRuns) -> None:
    """`sbwatch demo --quiet --report X` exits 0, writes X and prints the summary line."""
    assert 0 == long_runs.demo.code, long_runs.demo.stderr
    page = long_runs.demo_html.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "may26-io-exhaustion" in page
    assert f"Report: {long_runs.demo_html}" in long_runs.demo.stdout
    assert "EVENT" not in long_runs.demo.stdout  # --quiet: no timeline
