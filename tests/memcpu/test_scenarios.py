"""The shipped memory and CPU scenarios replay and pass: the person is warned before the
services fail, with the size that holds and its command, the failure is paged as memory or
CPU, an OOM is said; the truth knows when and why memory and the CPUs ran out."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sbwatch.alerting.words import LEAK_LINE
from sbwatch.core.results import EscalationMode, HostSample, Outcome, ProbeKind, ProbeResult
from sbwatch.sim.replay import replay
from sbwatch.sim.scenario import load_scenario, parse_scenario
from sbwatch.sim.score import score_case
from sbwatch.sim.truth import Cause, run_world
from sbwatch.store.codec import probe_from_doc, probe_to_doc

SHIPPED = Path(__file__).resolve().parents[2] / "src" / "sbwatch" / "sim" / "scenarios"
REF = "abcdefghijklmnopqrst"
NAME = "(abcdef)"


def said(report: dict[str, Any]) -> list[tuple[int, str, str]]:
    """(minute, severity, title) of every message the phone got, in order."""
    return [(round(m["at_s"] / 60), m["severity"], m["title"]) for m in report["messages"]]


def lines(report: dict[str, Any], index: int) -> list[str]:
    """The body lines of one message."""
    return str(report["messages"][index]["body"]).split("\n")


def test_a_leak_is_warned_hours_before_the_oom_and_the_oom_is_said() -> None:
    """Warned 31 minutes in, five hours before the OOM, naming memory, the time to the OOM,
    small (which holds the 0.7 GB in use) and the command; the OOM's outage paged as memory;
    the OOM said as one after it; the leak warned again after the reboot."""
    report = asyncio.run(replay(load_scenario(SHIPPED / "memory-leak-oom.toml")))
    assert [] == [c for c in report["checks"] if not c["passed"]]
    short = f"memory-leak-oom {NAME}: memory running short: the size is too small for the load"
    assert [
        (31, "warning", f"WARNING {short}"),
        (341, "critical", f"CRITICAL (was warning) memory-leak-oom {NAME}: memory exhausted: "
         "services failing"),
        (343, "warning", f"WARNING {short.replace(': memory', ': now memory')}"),
        (345, "warning", f"WARNING {short.replace(': memory', ': now memory')}"),
        (405, "warning", f"WARNING {short.replace(': memory', ': now memory')}"),
    ] == said(report)  # fmt: skip
    assert [
        "free memory falling steadily (a leak?): out of memory (OOM) in ~5h18m, when RAM and "
        "swap are full; RAM full (swapping) after ~1h6m",
        "small (2 GB) is the smallest size whose memory holds the 0.7 GB in use under 75%; "
        "micro has 1 GB",
        LEAK_LINE,
        "Proposed: raise micro -> small (+$5.23/month)",
        f"Run: sbwatch escalate {REF} --to small",
    ] == lines(report, 0)[:5]
    assert [
        "RAM 97% used for 4h50m (above 75% consistently: the provider's sign of a size too small)",
        "rest probe down",
        "swap 100% used (above 70%: the size is too small)",
    ] == lines(report, 1)[:3]
    assert "swapping 6.0 MB/s on the root disk, which spends the disk IO budget" in lines(report, 2)
    assert lines(report, 3)[0] == (
        "out of memory at 05:40-05:45 UTC: the OOM killer struck and the machine restarted "
        "(its counters started again)"
    )
    assert (0, 0) == (report["patch_attempts"], report["disk_attempts"])


def test_the_truth_knows_the_oom_and_judges_a_raise_that_did_not_save_it() -> None:
    """The re-run world has one incident of the memory cause at the OOM (every service down
    two minutes). A raise to small an hour in saves the case from it (the new size does not
    run out before the end): not wasted. One sent after the OOM (an IO-budget raise, say)
    saves nothing: wasted (and with no message at all, the OOM was a missed warning)."""
    scenario = load_scenario(SHIPPED / "memory-leak-oom.toml")
    (oom,) = run_world(scenario, []).incidents()
    assert (Cause.MEMORY, ("db", "rest", "auth")) == (oom.cause, oom.services)
    assert 5 * 3600 + 40 * 60 <= oom.start_s < 5 * 3600 + 42 * 60
    assert 120 <= oom.end_s - oom.start_s <= 180

    def judged(at_s: float) -> list[str]:
        change = {"at": at_s, "project": REF, "tier": "small", "rollback": False}
        report = {"alerts": [], "api_resizes": [change], "api_disk_changes": []}
        return [f.rule for f in score_case(scenario, report).findings]

    assert ([], ["missed_warning", "wasted_patch"]) == (judged(3600.0), judged(6 * 3600.0))


def test_cpu_saturation_is_warned_before_the_timeouts_with_the_size_with_more_cpus() -> None:
    """Busy above 90% for 15 minutes from 1h: a warning naming xl (4 CPUs) and the command;
    the timeouts from 3h paged as CPU; resolved after the load ends; nothing sent to the API.
    The fast path gives the full path's very report."""
    scenario = load_scenario(SHIPPED / "cpu-saturated.toml")
    report = asyncio.run(replay(scenario, fast=True))
    assert report == asyncio.run(replay(scenario, fast=False))
    assert [] == [c for c in report["checks"] if not c["passed"]]
    saturated = f"cpu-saturated {NAME}: CPU saturated: the size is too small for the load"
    assert [
        (81, "warning", f"WARNING {saturated}"),
        (180, "critical", f"CRITICAL (was warning) cpu-saturated {NAME}: CPU exhausted: "
         "services failing"),
        (240, "warning", f"WARNING {saturated.replace(': CPU', ': now CPU')}"),
        (250, "warning", f"RESOLVED cpu-saturated {NAME}: CPU exhausted: services failing "
         "(lasted 2h44m)"),
    ] == said(report)  # fmt: skip
    assert [
        "CPU 99% busy for 15m (iowait apart; above 90% that long: saturated)",
        "xl (4 CPUs) is the smallest size with more CPUs than micro (2)",
        "Proposed: raise micro -> xl (+$200.21/month)",
        f"Run: sbwatch escalate {REF} --to xl",
    ] == lines(report, 0)[:4]
    (timeouts,) = run_world(scenario, []).incidents()
    assert (Cause.CPU, 3 * 3600.0, 4 * 3600.0) == (
        timeouts.cause,
        timeouts.start_s,
        timeouts.end_s,
    )


def test_a_probe_result_with_host_readings_is_stored_without_them() -> None:
    """The memory, swap and CPU readings stay in the watcher: a probe status's last result
    is stored and read back without them."""
    at = datetime(2026, 5, 20, tzinfo=UTC)
    result = ProbeResult(REF, ProbeKind.METRICS, Outcome.OK, at, 0.1, host=HostSample(at, 1.0))
    back = probe_from_doc(probe_to_doc(result))
    assert back is not None
    assert (None, Outcome.OK) == (back.host, back.outcome)


def test_in_auto_mode_a_leak_is_proposed_never_raised() -> None:
    """The same leak under auto: the same warnings, the size proposed with why it is only a
    proposal, and nothing sent to the API. The truth bears the rule out: a raise to small an
    hour in would have traded the OOM's two-minute restart for the resize's own, at a price,
    and the leak grows on small all the same."""
    scenario = load_scenario(SHIPPED / "memory-leak-oom.toml")
    auto = replace(scenario, policy=replace(scenario.policy, mode=EscalationMode.AUTO))
    report = asyncio.run(replay(auto))
    assert (0, 0) == (report["patch_calls"], report["patch_attempts"])
    assert said(report) == said(asyncio.run(replay(scenario)))
    assert LEAK_LINE in lines(report, 0)
    change = {"at": 3600.0, "project": REF, "tier": "small", "rollback": False}
    (oom,) = run_world(auto, []).incidents()
    (restart,) = run_world(auto, [change]).incidents()
    assert (Cause.MEMORY, Cause.RESIZE) == (oom.cause, restart.cause)
    assert restart.end_s - restart.start_s >= oom.end_s - oom.start_s - 60


LEAK_GOES_ON = f"""name = "leak-goes-on"
duration = "12h"
[[projects]]
ref = "{REF}"
tier = "micro"
[policy]
mode = "auto"
max_tier = "large"
monthly_cost_cap_usd = 30
cooldown = "3600s"
[[events]]
at = "0s"
kind = "workload"
read_mbps = 5.0
write_mbps = 1.2
[[events]]
at = "3776s"
kind = "memory"
work_gb = 0.1
leak_gb_per_hour = 0.3
"""
"""A leak that its OOMs do not stop (a campaign's case): it starts again after each reboot."""


def test_a_leak_that_outlives_its_ooms_is_never_raised_and_pages_only_when_it_strikes() -> None:
    """Each OOM is paged as memory and said after the reboot; the leak is proposed again,
    read from the fall that ran up to the OOM before the new one shows; nothing is raised
    (a raise there was wasted: the leak ran out small's memory within the day too)."""
    report = asyncio.run(replay(parse_scenario(LEAK_GOES_ON, source="leak-goes-on")))
    assert 0 == report["patch_attempts"]
    pages = [m for m in report["messages"] if m["severity"] == "critical"]
    ooms = run_world(parse_scenario(LEAK_GOES_ON, source="leak-goes-on"), []).incidents()
    assert len(ooms) >= 2
    assert {Cause.MEMORY} == {i.cause for i in ooms}
    assert len(pages) == len(ooms)
    for page, oom in zip(pages, ooms, strict=True):
        assert oom.start_s <= page["at_s"] <= oom.end_s, (page["title"], oom)
    after = [m for m in report["messages"] if "the OOM killer struck" in str(m["body"])]
    assert after
    assert all(LEAK_LINE in str(m["body"]) for m in after)


def _findings(name: str, *alerts: dict[str, Any]) -> list[tuple[str, str]]:
    """(rule, detail) of the scorecard's findings on a hand-made report of a shipped case."""
    report = {"alerts": list(alerts), "api_resizes": [], "api_disk_changes": []}
    score = score_case(load_scenario(SHIPPED / name), report)
    return [(f.rule, f.detail) for f in score.findings]


def _message(at_s: float, severity: str, title: str, subject: str) -> dict[str, Any]:
    return {"at_s": at_s, "severity": severity, "title": title, "body": "", "project": REF,
            "key": f"{REF}:{subject}"}  # fmt: skip


def test_an_oom_no_warning_named_is_a_missed_warning() -> None:
    """The leak's OOM paged only when it struck: memory was short for hours before, so the
    scorecard counts a missed warning; a warning naming memory before it holds."""
    page = _message(341 * 60, "critical", "memory exhausted: services failing", "diagnosis")
    warned = _message(31 * 60, "warning", "memory running short", "diagnosis")
    assert [
        ("missed_warning", "out of memory (OOM) at 5h41m, memory short since 49m; no message "
         "named it"),
    ] == _findings("memory-leak-oom.toml", page)  # fmt: skip
    assert [] == _findings("memory-leak-oom.toml", warned, page)


def test_cpus_exhausted_no_warning_named_is_a_missed_warning() -> None:
    """The CPUs busy from 1h and the timeouts from 3h paged only then: a missed warning; a
    warning naming the CPU before holds."""
    page = _message(180 * 60, "critical", "CPU exhausted: services failing", "diagnosis")
    warned = _message(81 * 60, "warning", "CPU saturated: the size is too small", "diagnosis")
    assert [
        ("missed_warning", "CPUs exhausted at 3h, busy above nine tenths since 1h; no message "
         "named them"),
    ] == _findings("cpu-saturated.toml", page)  # fmt: skip
    assert [] == _findings("cpu-saturated.toml", warned, page)
