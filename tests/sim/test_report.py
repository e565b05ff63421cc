"""The HTML replay report: self-contained, with an SVG chart Chromium renders."""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sbwatch.sim.report import render_html

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def synthetic_report() -> dict[str, Any]:
    """A two-day replay with a drain, an email, an alert and an escalation."""
    series = [
        {
            "at_s": t * 3600.0,
            "true": max(0.0, 1 - t / 40),
            "estimated": None if t < 2 else max(0.0, 1 - t / 38),
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
        "alerts": [{"at_s": 30 * 3600.0 + 60, "severity": "warning", "title": "IO budget low"}],
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
        "<tr><td>20h</td><td>held back</td>"
        "<td>provider email folded into the open alert: IO budget &lt;low&gt;</td></tr>"
    )
    assert row in page


def test_missing_estimates_break_the_line() -> None:
    """The estimated line starts where estimates start; the true line covers the whole span."""
    page = render_html(synthetic_report())
    true_path = re.search(r'class="series-true" d="([^"]+)"', page)
    estimated = re.search(r'class="series-estimated" d="([^"]+)"', page)
    assert true_path is not None
    assert estimated is not None
    assert (1, 48) == (true_path.group(1).count("M"), true_path.group(1).count("L"))
    assert (1, 46) == (estimated.group(1).count("M"), estimated.group(1).count("L"))


def _png_size(data: bytes) -> tuple[int, int]:
    assert b"\x89PNG\r\n\x1a\n" == data[:8]
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.integration
def test_chromium_renders_the_chart() -> None:
    """Headless Chromium renders it: the DOM has SVG paths with data; the PNG is not blank."""
    with tempfile.TemporaryDirectory(prefix="sbwatch-report-") as tmp:
        base = Path(tmp)
        page = base / "report.html"
        page.write_text(render_html(synthetic_report()), encoding="utf-8")
        png = base / "shot.png"
        url = page.as_uri()
        common = ["chromium", *FLAGS, f"--user-data-dir={base / 'profile'}"]
        dom = subprocess.run(
            [*common, "--dump-dom", url], capture_output=True, text=True, timeout=90, check=True
        )
        subprocess.run(
            [*common, f"--screenshot={png}", "--window-size=1000,900", url],
            capture_output=True,
            timeout=90,
            check=True,
        )
        shot = png.read_bytes()
    paths = re.findall(r'<path class="series-(?:true|estimated)" d="([^"]*)"', dom.stdout)
    assert 2 == len(paths)
    assert all(len(d) > 100 for d in paths)
    assert "<svg" in dom.stdout
    assert (1000, 900) == _png_size(shot)
    assert len(shot) > 10_000
