"""The six-day replay's HTML report, rendered by headless Chromium."""

from __future__ import annotations

import re
from html import unescape

from tests.chromium import decode_png, dump_dom, screenshot
from tests.replay.conftest import LongRuns


def texts(dom: str, cls: str) -> list[str]:
    """The texts of the SVG <text> elements of one class."""
    return [unescape(t) for t in re.findall(rf'<text class="{cls}"[^>]*>([^<]*)</text>', dom)]


def test_report_renders_with_a_chart(long_runs: LongRuns) -> None:
    """Chromium's DOM has the SVG with non-empty paths; the screenshot is not one flat colour."""
    page = long_runs.may26_html
    dom = dump_dom(page.as_uri())
    image = decode_png(screenshot(page.as_uri(), 1000, 900))
    assert "<svg" in dom
    paths = dict(re.findall(r'<path class="series-(true|estimated)" d="([^"]*)"', dom))
    assert ["estimated", "true"] == sorted(paths)
    # 865 samples over six days: one M and hundreds of L commands per line.
    assert all(d.startswith("M") and d.count("L") > 500 for d in paths.values())
    assert "PASSED" in dom
    assert (1000, 900) == (image.width, image.height)
    assert len(image.colours()) > 10


def test_report_reads_as_the_story(long_runs: LongRuns) -> None:
    """Lanes by probe, a tick each day, micro then small as a band, the header's first alert
    the phone's first message, each alert's text once, the email by its subject, and the
    period at 0% on small (too small for the whole burst) saying why."""
    dom = dump_dom(long_runs.may26_html.as_uri())
    report = long_runs.may26.report
    assert ["rest", "auth", "mgmt_health", "metrics"] == texts(dom, "lane-label")
    assert ["0", "1d", "2d", "3d", "4d", "5d", "6d"] == texts(dom, "tick-label")
    assert ["micro", "small"] == re.findall(r'class="tier-band" data-tier="(\w+)"', dom)
    header = re.search(r'<span class="first-alert">([^<]*)</span>', dom)
    assert header is not None
    assert unescape(header.group(1)).endswith(f": {report['alerts'][0]['title']}")
    alerts = re.findall(r'<tr class="alert"><td>[^<]*</td><td>alert</td><td>([^<]*)<', dom)
    assert [a["title"] for a in report["alerts"]] == [unescape(a) for a in alerts]
    assert "warning: WARNING" not in dom
    emails = re.findall(r'<tr class="email"><td>[^<]*</td><td>email</td><td>([^<]*)</td>', dom)
    assert ["Your project is depleting its Disk IO Budget"] == emails
    why = texts(dom, "why")
    assert ["0%: throttled on small at 40 MB/s (22 MB/s served)"] == why


def test_report_screenshot_keeps_the_layout(long_runs: LongRuns) -> None:
    """At 1200x900 the chart, the tier band (micro, then small from day five) and the four
    probe lanes are drawn in that order, at the chart's width, within the window."""
    image = decode_png(screenshot(long_runs.may26_html.as_uri(), 1200, 900))
    plot = image.region((0xFA, 0xFA, 0xFA), min_run=100)
    micro = image.region((0xA8, 0xC8, 0xE8), min_run=300)
    small = image.region((0x8F, 0xD1, 0x9E), min_run=20)
    # a lane may break where a probe was down (the resize): its runs, not one across it
    lanes = image.region((0x3A, 0x9D, 0x5D), min_run=60)
    assert plot is not None
    assert micro is not None
    assert small is not None
    assert lanes is not None
    assert 180 <= plot[3] - plot[1] <= 240
    assert plot[3] < micro[1] < lanes[1]
    assert micro[0] < small[0]
    assert micro[2] < small[2] < 1200
    assert 4 * 14 <= lanes[3] - lanes[1] + 1 <= 4 * 18
    assert abs((small[2] - micro[0]) - (lanes[2] - lanes[0])) <= 2  # band and lanes align
