"""The HTML replay report: self-contained, with an SVG chart Chromium renders."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from tests.chromium import decode_png, dump_dom, screenshot

from sbwatch.sim.report import render_html
from sbwatch.sim.report_chart import ticks


def synthetic_report() -> dict[str, Any]:
    """A two-day replay: a drain on micro, an email, an alert, an escalation to small, and
    the budget empty from 40 h on, throttled."""
    series = [
        {
            "at_s": t * 3600.0,
            "true": max(0.0, 1 - t / 40),
            "estimated": None if t < 2 else max(0.0, 1 - t / 38),
            "tier": "micro" if t < 31 else "small",
            "asked_mbps": 40.0,
            "served_mbps": 40.0 if t < 40 else 22.0,
        }
        for t in range(49)
    ]
    return {
        "scenario": "synthetic <drain>",
        "passed": True,
        "diagnoses": [
            {"at_s": 3600.0, "kind": "healthy"},
            {"at_s": 30 * 3600.0, "kind": "io_budget_low"},
        ],
        "alerts": [
            {
                "at_s": 30 * 3600.0 + 60,
                "severity": "warning",
                "title": "WARNING shop: disk IO budget 25% left",
                "body": "Estimated from disk throughput.\nSince 2026-05-21 06:00 UTC.",
            }
        ],
        "escalations": [
            {"at_s": 31 * 3600.0, "from": "micro", "to": "small", "outcome": "applied"}
        ],
        "patch_calls": 1,
        "patch_attempts": 1,
        "downtime_s": 125.0,
        "first_alert_s": 600.0,
        "checks": [{"name": "escalate_to", "passed": True, "detail": "small"}],
        "series": series,
        "emails": [
            {
                "at_s": 20 * 3600.0,
                "template": "io_budget_warning",
                "subject": "Your project is depleting",
            }
        ],
        "probe_states": [
            {"at_s": 0.0, "project": "abcdefghijklmnopqrst", "probe": "rest", "state": "up"},
            {
                "at_s": 31 * 3600.0,
                "project": "abcdefghijklmnopqrst",
                "probe": "rest",
                "state": "down",
            },
            {
                "at_s": 31 * 3600.0 + 130,
                "project": "abcdefghijklmnopqrst",
                "probe": "rest",
                "state": "up",
            },
        ],
    }


def test_page_is_self_contained() -> None:
    """No external resource: no src/href to http(s), no script, names escaped."""
    page = render_html(synthetic_report())
    assert [] == re.findall(r'(?:src|href)="https?://', page)
    assert "<script" not in page
    assert "synthetic &lt;drain&gt;" in page
    assert 2 == page.count('class="probe-state"') - 1


def test_timeline_lists_what_was_held_back() -> None:
    """An alert recorded but not sent shows in the timeline with why, escaped."""
    report = synthetic_report()
    report["held"] = [
        {
            "at_s": 20 * 3600.0,
            "key": "abcdefghijklmnopqrst:io_budget",
            "kind": "update",
            "title": "IO budget <low>",
            "note": "provider email folded into the open alert",
        }
    ]
    page = render_html(report)
    row = (
        '<tr class="held-back"><td>20h00m</td><td>held back</td>'
        "<td>provider email folded into the open alert: IO budget &lt;low&gt;</td></tr>"
    )
    assert row in page


def test_timeline_moments_a_quarter_hour_apart_read_apart() -> None:
    """Past the first day the timeline gives the minute: 5d00h05m and 5d00h22m, not 5d twice."""
    report = synthetic_report()
    day5 = 5 * 86_400.0
    report["held"] = [
        {"at_s": day5 + 300, "key": "k", "kind": "update", "title": "a", "note": "n"},
        {"at_s": day5 + 1320, "key": "k", "kind": "update", "title": "b", "note": "n"},
    ]
    cells = re.findall(r'<tr class="held-back"><td>([^<]*)</td>', render_html(report))
    assert ["5d00h05m", "5d00h22m"] == cells


def svg_texts(page: str, cls: str) -> list[str]:
    """The texts of the SVG <text> elements of one class."""
    return re.findall(rf'<text class="{cls}"[^>]*>([^<]*)</text>', page)


def test_probe_lanes_are_labelled_by_probe() -> None:
    """One project: each lane says only its probe (the ref is in the title already)."""
    assert ["rest"] == svg_texts(render_html(synthetic_report()), "lane-label")


def test_lanes_of_several_projects_name_the_project_too() -> None:
    """Two projects: a lane says which project's probe it is."""
    report = synthetic_report()
    report["probe_states"].append(
        {"at_s": 0.0, "project": "qrstuvwxyzabcdefghij", "probe": "rest", "state": "up"}
    )
    assert ["abcdef rest", "qrstuv rest"] == svg_texts(render_html(report), "lane-label")


@pytest.mark.parametrize(
    ("span_s", "expected"),
    [
        (6 * 86_400.0, [d * 86_400 for d in range(7)]),
        (2 * 86_400.0, [0, 86_400, 172_800]),
        (30 * 3_600.0, [h * 6 * 3_600 for h in range(6)]),
        (3 * 3_600.0, [m * 1_800 for m in range(7)]),
    ],
)
def test_time_axis_ticks_at_day_boundaries(span_s: float, expected: list[int]) -> None:
    """Two days or more: a tick each midnight; shorter replays: whole hours or half hours."""
    assert expected == ticks(span_s)


def test_axis_labels_are_days() -> None:
    """The two-day report's axis reads 0, 1d, 2d."""
    assert ["0", "1d", "2d"] == svg_texts(render_html(synthetic_report()), "tick-label")


def test_tier_is_a_band() -> None:
    """The compute size is drawn as a band: micro, then small from the escalation on."""
    page = render_html(synthetic_report())
    assert ["micro", "small"] == re.findall(r'class="tier-band" data-tier="(\w+)"', page)


def test_header_first_alert_is_the_first_message_the_phone_got() -> None:
    """The header names the first alert sent and its title, not the reference-event delay."""
    page = render_html(synthetic_report())
    header = re.search(r'<span class="first-alert">([^<]*)</span>', page)
    assert header is not None
    assert "first alert 1d06h01m: WARNING shop: disk IO budget 25% left" == header.group(1)


def test_alert_rows_show_their_text_once() -> None:
    """An alert row is the title as sent, then its body; the severity is not said twice."""
    page = render_html(synthetic_report())
    row = re.search(r'<tr class="alert">(.*?)</tr>', page, re.S)
    assert row is not None
    assert 1 == row.group(1).count("WARNING")
    assert "warning:" not in row.group(1)
    assert '<div class="body">Estimated from disk throughput.\nSince' in row.group(1)


def test_email_rows_show_the_subject() -> None:
    """An email row (and its marker) is the email's subject; an untrusted one says so."""
    report = synthetic_report()
    report["emails"].append(
        {"at_s": 21 * 3600.0, "kind": "other", "trusted": False, "subject": "Act <now>"}
    )
    page = render_html(report)
    rows = re.findall(r'<tr class="email"><td>[^<]*</td><td>email</td><td>([^<]*)</td>', page)
    assert ["Your project is depleting", "Act &lt;now&gt; (untrusted)"] == rows


def test_a_period_at_zero_says_why() -> None:
    """The empty budget is shaded and labelled with the size, the load asked and served."""
    page = render_html(synthetic_report())
    why = "throttled on small at 40 MB/s (22 MB/s served)"
    assert [f"0%: {why}"] == svg_texts(page, "why")
    assert 1 == page.count('class="empty-period"')
    assert f"<td>1d16h00m</td><td>budget</td><td>0% left until 2d00h00m: {why}</td>" in page


def test_missing_estimates_break_the_line() -> None:
    """The estimated line starts where estimates start; the true line covers the whole span."""
    page = render_html(synthetic_report())
    true_path = re.search(r'class="series-true" d="([^"]+)"', page)
    estimated = re.search(r'class="series-estimated" d="([^"]+)"', page)
    assert true_path is not None
    assert estimated is not None
    assert (1, 48) == (true_path.group(1).count("M"), true_path.group(1).count("L"))
    assert (1, 46) == (estimated.group(1).count("M"), estimated.group(1).count("L"))


@pytest.mark.integration
def test_chromium_renders_the_chart(tmp_path: Path) -> None:
    """Headless Chromium renders it: the DOM has the SVG paths with data, the lanes, axis and
    band; the screenshot shows the chart area, the tier band in its colours and the lane."""
    page = tmp_path / "report.html"
    page.write_text(render_html(synthetic_report()), encoding="utf-8")
    dom = dump_dom(page.as_uri())
    image = decode_png(screenshot(page.as_uri(), 1000, 900))
    paths = re.findall(r'<path class="series-(?:true|estimated)" d="([^"]*)"', dom)
    assert 2 == len(paths)
    assert all(len(d) > 100 for d in paths)
    assert ["rest"] == svg_texts(dom, "lane-label")
    assert ["0", "1d", "2d"] == svg_texts(dom, "tick-label")
    assert (1000, 900) == (image.width, image.height)
    assert len(image.colours()) > 20
    plot = image.region((0xFA, 0xFA, 0xFA), min_run=40)
    micro = image.region((0xA8, 0xC8, 0xE8), min_run=200)  # 31 of 48 hours
    small = image.region((0x8F, 0xD1, 0x9E), min_run=100)
    lane = image.region((0x3A, 0x9D, 0x5D), min_run=200)
    assert plot is not None
    assert micro is not None
    assert small is not None
    assert lane is not None
    assert plot[3] < micro[1] < lane[1]  # chart, then the band, then the lane, top to bottom
    assert micro[2] < small[0]  # micro first, then small, on one row
    assert abs(micro[1] - small[1]) <= 1
    assert 700 <= small[2] - plot[0] <= 900  # the band spans the chart's width


def test_outside_resizes_are_on_the_timeline() -> None:
    """A resize made in the dashboard has its own timeline row; a refused one says so."""
    report = synthetic_report() | {
        "outside_resizes": [
            {"at_s": 7200.0, "from": "micro", "to": "small", "applied": True},
            {"at_s": 7260.0, "from": "micro", "to": "medium", "applied": False},
        ]
    }
    page = render_html(report)
    row = r'<tr class="outside-resize"><td>([^<]*)</td><td>[^<]*</td><td>([^<]*)<'
    rows = re.findall(row, page)
    assert [
        ("2h00m", "micro -&gt; small in the dashboard"),
        ("2h01m", "micro -&gt; medium in the dashboard (not applied)"),
    ] == rows
