"""Replays against the independent simulated world: IOPS, daily patterns, hidden limits, two
projects, and the phone's messages checked with [[expect.messages]] and max_messages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.replay.conftest import DATA, Run, replay_json

from sbwatch.sim.truth import SLOW_S

A = "abcdefghijklmnopqrst"
B = "qrstuvwxyzabcdefghij"
DAY_S = 86_400.0
Variant = Callable[[str], Run]


def passed(variant: Variant, name: str) -> dict[str, Any]:
    """The report of a variant that exited 0 with every check held."""
    run = variant(name)
    assert 0 == run.code, (run.stderr[-2000:], failed_checks(run))
    return run.report


def failed_checks(run: Run) -> list[dict[str, Any]]:
    """The checks that did not hold (empty when the output is not a report)."""
    try:
        return [c for c in run.report["checks"] if not c["passed"]]
    except ValueError:
        return []


def check_names(report: dict[str, Any]) -> list[str]:
    """The names of the report's checks, in order."""
    return [c["name"] for c in report["checks"]]


def true_zero(report: dict[str, Any], ref: str = A) -> float:
    """When the simulator's true budget of ``ref`` first reached zero."""
    return next(
        float(p["at_s"]) for p in report["series"] if p["project"] == ref and p["true"] <= 0.0
    )


def test_iops_only_exhaustion_escalates(variant: Variant) -> None:
    """800 small reads a second at 3 MB/s: the IOPS balance drains, the size goes up once, in
    time, while the true bytes balance never moves. The load is 1.6 times the published
    baseline, which true limits above the published ones may carry: the size is bought once
    REST shows the throttle's queue at the zero, before the services are slowed to failing."""
    report = passed(variant, "iops-exhaustion")
    steps = [(e["from"], e["to"], e["outcome"]) for e in report["escalations"]]
    assert [("micro", "small", "recovered")] == steps
    at = report["escalations"][0]["at_s"]
    before = [p for p in report["series"] if p["at_s"] <= at]
    assert min(p["true_iops"] for p in before) == 0.0  # not ahead of a zero that may not come
    assert max(p["rest_latency_s"] for p in before) < SLOW_S  # nor once the requests failed
    assert {1.0} == {p["true_bytes"] for p in report["series"]}
    assert report["downtime_s"] <= 300
    assert ["messages", "max_messages"] == check_names(report)[-2:]


def test_iops_only_exhaustion_messages_say_it_is_the_iops(variant: Variant) -> None:
    """The warning and the escalation name the IOPS balance, not a MB/s burn that is negative."""
    report = passed(variant, "iops-exhaustion")
    warning = next(m for m in report["messages"] if m["severity"] == "warning")
    escalation = next(m for m in report["messages"] if "raising compute" in m["title"])
    assert "IOPS" in warning["title"] + warning["body"]
    assert "IOPS" in escalation["body"]


def test_day_night_pattern_gives_no_false_runs_out_warning(variant: Variant) -> None:
    """A budget that refills every night: once a day is learned, no "runs out in ~1d" and no
    message but the resolve of the first afternoon's; never a PATCH."""
    report = passed(variant, "day-night-pattern")
    later = [m["title"] for m in report["messages"] if m["at_s"] >= DAY_S]
    assert [] == [t for t in later if not t.startswith("RESOLVED ")]
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_day_night_pattern_really_refills(variant: Variant) -> None:
    """The world side of the day/night pattern: the true budget stays above half, and a day
    costs as much as a night gives back."""
    run = variant("day-night-pattern")
    report = run.report
    true = [p["true"] for p in report["series"]]
    assert 0.55 < min(true) < 0.7
    mornings = [p["true"] for p in report["series"] if p["at_s"] % DAY_S == 8 * 3600.0]
    assert {1.0} == set(mornings)  # full again when each busy day starts
    assert 0.0 == report["downtime_s"]


def test_slow_pattern_drain_warns_two_days_ahead(variant: Variant) -> None:
    """9.6 points a day lost behind a daily shape: the first warning leads the true zero by 2d."""
    report = passed(variant, "slow-drain-pattern")
    zero = true_zero(report)
    first = next(m for m in report["messages"] if m["severity"] in ("warning", "critical"))
    assert zero - first["at_s"] >= 2 * DAY_S, (zero, first)
    assert 4 * DAY_S < zero < 4.5 * DAY_S  # slow: empty on the morning of day four


def test_flat_drain_warns_two_days_ahead(variant: Variant) -> None:
    """13 MB/s around the clock on micro, empty after about 2.6 days: the first warning comes
    once the load has held for half a day, two days before the true zero, with the command."""
    report = passed(variant, "flat-drain")
    zero = true_zero(report)
    first = next(m for m in report["messages"] if m["severity"] in ("warning", "critical"))
    assert 2.5 * DAY_S < zero < 2.7 * DAY_S
    assert first["at_s"] < 0.55 * DAY_S
    assert zero - first["at_s"] >= 2 * DAY_S, (zero, first)
    assert "sbwatch escalate" in first["body"]


def test_a_leak_hides_no_throttle_from_the_raise(variant: Variant) -> None:
    """Memory runs out on micro while the budget drains: the OOM pages; the memory diagnosis
    that stands after it still carries REST's queue sign, so the budget's raise comes before
    the services fail from it (the score's late_patch holds), as a page of its own."""
    report = passed(variant, "oom-then-raise")
    said = [(m["severity"], m["title"]) for m in report["messages"]]
    pages = [title for severity, title in said if severity == "critical"]
    assert 2 == len(pages), said
    assert "memory exhausted: services failing" in pages[0]
    assert "raising compute micro -> small" in pages[1]


def test_limits_above_the_published_ones_buy_nothing(variant: Variant) -> None:
    """14 MB/s on a micro that truly sustains 14.3: never exhausted, never a PATCH."""
    report = passed(variant, "true-limits-above-published")
    assert (0, []) == (report["patch_attempts"], report["escalations"])
    assert "critical" not in {m["severity"] for m in report["messages"]}


def test_limits_above_the_published_ones_stay_hidden(variant: Variant) -> None:
    """The world side: with limits 30% up, the true budget never moves at 14 MB/s, and the
    services never slow down, whatever the published figures make the estimate say."""
    report = variant("true-limits-above-published").report
    mine = [p for p in report["series"] if p["tier"] == "micro"]
    assert {1.0} == {p["true"] for p in mine}
    assert {False} == {p["throttled"] for p in report["series"]}
    assert {0.03} == {p["rest_latency_s"] for p in report["series"]}


def test_true_budget_draining_above_published_limits_escalates_in_time(variant: Variant) -> None:
    """Limits 30% up and a load that drains even those: the change comes before the true zero."""
    report = passed(variant, "true-limits-drain")
    at = report["escalations"][0]["at_s"]
    assert min(p["true"] for p in report["series"] if p["at_s"] <= at) > 0.0
    assert [("micro", "small")] == [(e["from"], e["to"]) for e in report["escalations"]]


def test_refilling_low_budget_warns_and_never_patches(variant: Variant) -> None:
    """3% left while the load is under the baseline: a warning, no PATCH."""
    report = passed(variant, "refilling-low")
    assert (0, []) == (report["patch_attempts"], report["escalations"])
    assert ["warning"] == [m["severity"] for m in report["messages"]]


def test_refilling_nearly_empty_budget_never_patches(variant: Variant) -> None:
    """0.5% left while the load is under the baseline: a warning, no PATCH, no downtime."""
    report = passed(variant, "refilling-nearly-empty")
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_two_projects_are_kept_apart(variant: Variant) -> None:
    """Only the draining project is raised; only the other's auth alert names it."""
    report = passed(variant, "two-projects")
    assert [A, B] == report["projects"]
    assert [(A, "micro", "small")] == [
        (e["project"], e["from"], e["to"]) for e in report["escalations"]
    ]
    assert {A: "small", B: "small"} == report["final_tiers"]
    auth = [m for m in report["messages"] if "auth is down" in m["title"]]
    assert auth
    assert {B} == {m["project"] for m in auth}
    assert {A, B} == {d["project"] for d in report["diagnoses"]}
    assert {A, B} == {p["project"] for p in report["series"]}
    assert report["downtime_by_project"][B] == pytest.approx(1800, abs=120)


def test_the_report_lists_the_phones_messages(variant: Variant) -> None:
    """messages: what the phone got, in order, each with at_s, severity, title and body."""
    report = passed(variant, "two-projects")
    assert report["messages"]
    assert all({"at_s", "severity", "title", "body"} <= set(m) for m in report["messages"])
    times = [m["at_s"] for m in report["messages"]]
    assert times == sorted(times)
    assert [(a["title"], a["severity"]) for a in report["alerts"]] == [
        (m["title"], m["severity"]) for m in report["messages"]
    ]


def write(tmp: Path, text: str) -> Path:
    """A scenario file in ``tmp``."""
    path = tmp / "scenario.toml"
    path.write_text(text, encoding="utf-8")
    return path


MESSAGES_OUT_OF_ORDER = """
[[expect.messages]]
severity = "critical"
title = "auth is down"

[[expect.messages]]
title = "^RESOLVED .*auth is down"

[[expect.messages]]
severity = "critical"
title = "auth is down"
"""


def test_expected_messages_must_come_in_order(tmp_path: Path) -> None:
    """Found in order, or the check fails naming the first one missing and what was sent."""
    base = (DATA / "service-down.toml").read_text(encoding="utf-8")
    run = replay_json(write(tmp_path, base + MESSAGES_OUT_OF_ORDER))
    assert 1 == run.code
    [check] = failed_checks(run)
    assert "messages" == check["name"]
    assert check["detail"].startswith("no critical /auth is down/ message after critical")
    assert "sent: critical: CRITICAL service-down (abcdef): auth is down" in check["detail"]
    two = MESSAGES_OUT_OF_ORDER.rsplit("[[expect.messages]]", 1)[0]
    bounded = base.replace("max_patch_calls = 0", "max_messages = 2")
    run = replay_json(write(tmp_path, bounded + two))
    assert 0 == run.code, failed_checks(run)
    assert ["messages", "max_messages"] == check_names(run.report)[-2:]


def test_max_messages_counts_what_the_phone_got(tmp_path: Path) -> None:
    """max_messages = 1 where the phone got two (the alert and its resolve): the check fails."""
    base = (DATA / "service-down.toml").read_text(encoding="utf-8")
    run = replay_json(write(tmp_path, base.replace("max_patch_calls = 0", "max_messages = 1")))
    assert 1 == run.code
    assert [("max_messages", "2 sent, at most 1")] == [
        (c["name"], c["detail"]) for c in failed_checks(run)
    ]
