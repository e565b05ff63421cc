"""Short scenario variants (tests/replay/data): each replays in seconds and pins one behaviour."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.replay.conftest import Run

REF = "abcdefghijklmnopqrst"
DAY_S = 86_400.0
Variant = Callable[[str], Run]


def kinds(report: dict[str, Any]) -> set[str]:
    """Every diagnosis kind the replay saw."""
    return {d["kind"] for d in report["diagnoses"]}


def passed(variant: Variant, name: str) -> dict[str, Any]:
    """The report of a variant that exited 0 with every check held."""
    run = variant(name)
    assert 0 == run.code, run.stderr[-2000:]
    report = run.report
    assert [] == [c for c in report["checks"] if not c["passed"]]
    return report


def test_ask_mode_alert_carries_the_command(variant: Variant) -> None:
    """Ask mode: an alert says exactly what to run, and no PATCH is ever sent."""
    report = passed(variant, "ask-mode")
    command = f"Run: sbwatch escalate {REF} --to small"
    assert any(command in a["body"].splitlines() for a in report["alerts"])
    assert (0, 0, []) == (report["patch_attempts"], report["patch_calls"], report["escalations"])


def test_off_mode_warns_a_day_before_the_true_budget_runs_out(variant: Variant) -> None:
    """Off mode on a ~50 h drain: the first budget warning leads the true zero by >= 24 h."""
    report = passed(variant, "off-drain")
    zero = next(p["at_s"] for p in report["series"] if p["true"] <= 0.0)
    budget = [a for a in report["alerts"] if "disk IO budget" in a["title"]]
    assert budget, "no budget alert"
    assert zero - budget[0]["at_s"] >= DAY_S, (zero, budget[0])
    assert ("warning", "open") == (budget[0]["severity"], budget[0]["kind"])
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_network_cut_is_local_network(variant: Variant) -> None:
    """Our network down for 20 min: local_network, never a platform outage, nothing changed."""
    report = passed(variant, "network-off")
    assert "local_network" in kinds(report)
    assert "platform_outage" not in kinds(report)
    assert (0, []) == (report["patch_attempts"], report["escalations"])
    assert 0.0 == report["downtime_s"]  # the project itself was fine all along


def test_one_service_down(variant: Variant) -> None:
    """auth down alone: service_down, its alert names auth, no escalation."""
    report = passed(variant, "service-down")
    assert "service_down" in kinds(report)
    assert any("auth is down" in a["title"] for a in report["alerts"])
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_paused_project(variant: Variant) -> None:
    """A paused project: project_paused, no escalation."""
    report = passed(variant, "paused")
    assert "project_paused" in kinds(report)
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_spoofed_email_alone_changes_nothing(variant: Variant) -> None:
    """A spoofed warning on a healthy, full project: noticed as UNVERIFIED, never a budget case."""
    report = passed(variant, "spoofed-email")
    assert {"healthy"} == kinds(report)
    assert [(600.0, False)] == [(e["at_s"], e["trusted"]) for e in report["emails"]]
    mail = [a for a in report["alerts"] if "email" in a["title"].lower()]
    assert 1 == len(mail)
    assert "UNVERIFIED email claims: " in mail[0]["title"]
    assert "Unverified: not proven to come from Supabase (no DKIM signature)" in mail[0]["body"]
    assert "not counted as evidence" in mail[0]["body"]
    assert "info" == mail[0]["severity"]
    assert (0, []) == (report["patch_attempts"], report["escalations"])


@pytest.mark.parametrize(
    "name", ["mgmt-rate-limit", "mgmt-error", "mgmt-slow", "mgmt-patch-rate-limit",
             "mgmt-patch-error", "mgmt-patch-slow"],
)  # fmt: skip
def test_management_api_fault_at_the_escalation_point(variant: Variant, name: str) -> None:
    """A management API fault as the change is due: at most one applied, no intent left open."""
    report = passed(variant, name)
    assert report["patch_calls"] <= 1
    assert [] == [e for e in report["escalations"] if e["outcome"] == "open"]
    assert report["escalations"], "the change is made once the fault clears"
    assert "small" == report["escalations"][-1]["to"]
    assert report["escalations"][-1]["outcome"] in ("recovered", "failed")


def test_exhausted_while_failing_is_not_a_platform_outage(variant: Variant) -> None:
    """Budget exhausted under 2x demand with a minor status page event: io_budget_exhausted."""
    report = passed(variant, "exhausted-failing")
    assert "io_budget_exhausted" in kinds(report)
    assert "platform_outage" not in kinds(report)
    assert report["downtime_s"] > 0  # the services really failed
    assert (0, []) == (report["patch_attempts"], report["escalations"])


def test_slow_patch_is_not_sent_twice(variant: Variant) -> None:
    """A PATCH answered after the client gave up (but applied) is reconciled, never resent."""
    report = passed(variant, "mgmt-patch-slow")
    assert (1, 1) == (report["patch_attempts"], report["patch_calls"])
    steps = [(e["from"], e["to"], e["outcome"]) for e in report["escalations"]]
    assert [("micro", "small", "recovered")] == steps


def test_a_failing_management_api_alone_is_one_warning(variant: Variant) -> None:
    """429 then 500 from the Management API while the project answers: one warning naming the
    API and its resolve, never "services failing for an unknown reason"."""
    report = passed(variant, "mgmt-faults-alone")
    assert ["warning", "warning"] == [m["severity"] for m in report["messages"]]
    assert "unknown" not in kinds(report)


def test_a_resize_made_outside_is_resizing_not_an_outage(variant: Variant) -> None:
    """The dashboard changes the size while the status page shows an unrelated incident: the
    project is resizing, said once as a warning; no page, no outage, no service alert."""
    report = passed(variant, "outside-resize-seen")
    assert "resizing" in kinds(report)
    assert [] == [m for m in report["messages"] if m["severity"] == "critical"]


def test_a_resize_made_outside_during_a_page_pages_no_more(variant: Variant) -> None:
    """CPU timeouts page on micro; the dashboard raises it to small, whose two CPUs time out
    the same: the person paged for this failure gets the new size as a notice and the failure
    going on as notes, not a second page (the score's pages per incident holds)."""
    report = passed(variant, "outside-resize-during-a-page")
    changed = next(m for m in report["messages"] if "outside sbwatch" in m["title"])
    pages = [m for m in report["messages"] if m["severity"] == "critical"]
    assert pages
    assert all(m["at_s"] < changed["at_s"] for m in pages)
