"""The status page shows the crisis: the budget chart opens on the last 3 hours while an alert
is open or the budget drains fast (24 hours otherwise), plain links switch the range, the
command ``ask`` mode proposes stands beside its alert, and each data check is a table row.
Rendered by headless Chromium; the screenshots are kept in the test's tmp dir."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from tests.chromium import Image, decode_png, dump_dom, screenshot

from sbwatch.core.results import (
    DataCheckKind,
    DataCheckResult,
    Outcome,
    ProbeKind,
    ProbeResult,
    ProbeState,
    ProbeStatus,
    Verdict,
)
from sbwatch.daemon.page import render_status_page
from sbwatch.daemon.ranges import chosen
from sbwatch.sim.replay import replay, replay_settings
from sbwatch.sim.scenario import Scenario, load_scenario
from sbwatch.sim.truth import START
from sbwatch.store.sqlite import SqliteStore

Replayed = tuple[Scenario, Path, dict[str, Any]]
ASK = Path(__file__).resolve().parents[1] / "replay" / "data" / "ask-mode.toml"
REF = "abcdefghijklmnopqrst"
LINE = (0x1F, 0x6F, 0xB2)
"""The budget line's colour."""


@pytest.fixture(scope="module")
def ask_mode(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    """The ask-mode scenario replayed (every request, every result stored) into a file store:
    the budget drains from 10% to nothing in its first half hour and an alert stays open."""
    scenario = load_scenario(ASK)
    path = tmp_path_factory.mktemp("ask") / "state.db"
    report = asyncio.run(replay(scenario, fast=False, store=SqliteStore(path)))
    assert report["passed"]
    return scenario, path, report


def render(scenario: Scenario, path: Path, asked: str, out: Path) -> Path:
    """The page of the replay's store at its end, over ``asked``, written to ``out``."""

    async def page() -> str:
        store = SqliteStore(path)
        await store.open()
        try:
            now = START + timedelta(seconds=scenario.duration_s)
            return await render_status_page(store, replay_settings(scenario), now, asked)
        finally:
            await store.close()

    out.write_text(asyncio.run(page()), encoding="utf-8")
    return out


def line_extent(dom: str) -> float:
    """How wide the budget line is drawn, in the chart's units."""
    found = re.search(r'<path class="budget-line" d="([^"]+)"', dom)
    assert found is not None
    xs = [float(x) for x in re.findall(r"[ML]([\d.]+),", found.group(1))]
    return max(xs) - min(xs)


def flat_line(image: Image) -> int:
    """The longest run in a row of the budget line's colour, in pixels (the 0% stretch)."""
    want, longest = bytes(LINE), 0
    for row in image.rows:
        run = 0
        for x in range(image.width):
            run = run + 1 if row[x * image.bpp : x * image.bpp + 3] == want else 0
            longest = max(longest, run)
    return longest


def test_an_open_alert_opens_the_chart_on_three_hours(ask_mode: Replayed, tmp_path: Path) -> None:
    """Without ?range: 3 h, saying why, with links to 24 h and 7 d; the two hours of the replay
    fill half the chart, where 24 h squeezes them into a fifteenth of it."""
    scenario, path, _ = ask_mode
    crisis = unescape(dump_dom(render(scenario, path, "", tmp_path / "default.html").as_uri()))
    calm = unescape(dump_dom(render(scenario, path, "24h", tmp_path / "day.html").as_uri()))
    assert (
        '<p class="ranges">last <b class="range" data-range="3h">3 h</b> · '
        f'<a class="range" data-range="24h" href="?range=24h#project-{REF}">24 h</a> · '
        f'<a class="range" data-range="7d" href="?range=7d#project-{REF}">7 d</a> '
        '<span class="quiet">(shown first: an alert is open)</span></p>'
    ) in crisis
    assert '<b class="range" data-range="24h">24 h</b>' in calm
    assert "shown first" not in calm
    assert "<script" not in crisis
    assert 280 <= line_extent(crisis) <= 300  # 2 h of the 4 h drawn (3 h past, 1 h ahead)
    assert 35 <= line_extent(calm) <= 42  # 2 h of 30 h


def test_the_screenshots_show_the_drain_wide(ask_mode: Replayed, tmp_path: Path) -> None:
    """At 1200x1100, saved beside the pages: the stretch at 0% runs over a long part of the
    3 h chart and a few pixels of the 24 h one; 7 d draws it narrower still."""
    scenario, path, _ = ask_mode
    widths = {}
    for asked in ("", "24h", "7d"):
        page = render(scenario, path, asked, tmp_path / f"page-{asked or 'default'}.html")
        png = screenshot(page.as_uri(), 1200, 1100)
        (tmp_path / f"page-{asked or 'default'}.png").write_bytes(png)
        widths[asked] = flat_line(decode_png(png))
    assert widths[""] >= 150
    assert widths["24h"] <= 35
    assert widths["7d"] < widths["24h"]


def test_the_proposed_command_stands_beside_its_alert(ask_mode: Replayed, tmp_path: Path) -> None:
    """The open alert's row ends with the command its message told the person to run."""
    scenario, path, report = ask_mode
    told = [
        line.removeprefix("Run: ")
        for alert in report["alerts"]
        for line in str(alert.get("body") or "").splitlines()
        if line.startswith("Run: ")
    ]
    assert f"sbwatch escalate {REF} --to small" == told[-1]
    dom = unescape(dump_dom(render(scenario, path, "", tmp_path / "page.html").as_uri()))
    row = re.search(r'<tr class="alert">(.*?)</tr>', dom)
    assert row is not None
    assert row.group(1).startswith(
        '<td class="critical">critical</td><td>disk IO budget exhausted: services throttled '
        "and failing</td>"
    )
    assert row.group(1).endswith(f'<td class="command">run <code>{told[-1]}</code></td>')


async def test_each_data_check_is_a_row(tmp_path: Path) -> None:
    """The data probe's row counts its checks; under it, one row per check with its verdict,
    table, value and detail (not one long text cell)."""
    at = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
    checks = (
        DataCheckResult("orders_rows", DataCheckKind.NOT_EMPTY, "public.orders", Verdict.OK, 1200),
        DataCheckResult(
            "events_fresh", DataCheckKind.FRESH, "public.events", Verdict.CRITICAL, 5400.0,
            "newest row 1h30m old (critical after 1h)",
        ),
    )  # fmt: skip
    last = ProbeResult(
        REF, ProbeKind.DATA, Outcome.FAIL, at, 0.2, "events_fresh: critical", checks=checks
    )
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    try:
        status = ProbeStatus(REF, ProbeKind.DATA, ProbeState.DOWN, 0, 2, at, last)
        await store.save_probe_status(status)
        settings = replay_settings(load_scenario(ASK))
        page = tmp_path / "page.html"
        page.write_text(await render_status_page(store, settings, at), encoding="utf-8")
    finally:
        await store.close()
    dom = unescape(await asyncio.to_thread(dump_dom, page.as_uri()))
    assert "<td>fail</td><td>1 of 2 checks failing</td></tr>" in dom
    rows = re.findall(r'<tr class="data-check" data-check="(\w+)">(.*?)</tr>', dom)
    assert [
        (
            "orders_rows",
            '<td class="check">orders_rows</td><td class="up">ok</td><td>public.orders</td>'
            "<td>1200</td><td></td>",
        ),
        (
            "events_fresh",
            '<td class="check">events_fresh</td><td class="down">critical</td>'
            "<td>public.events</td><td>5400</td><td>newest row 1h30m old (critical after 1h)</td>",
        ),
    ] == rows


@pytest.mark.parametrize(
    ("project", "asked", "expected"),
    [
        ({"open_alerts": [], "budget": {"eta_s": None}}, "", ("24h", "")),
        ({"open_alerts": [], "budget": None}, "", ("24h", "")),
        (
            {"open_alerts": [], "budget": {"eta_s": 5 * 3600.0}},
            "",
            ("3h", "shown first: the budget runs out within 6 h"),
        ),
        ({"open_alerts": [], "budget": {"eta_s": 7 * 3600.0}}, "", ("24h", "")),
        (
            {"open_alerts": [{"key": "x"}], "budget": None},
            "",
            ("3h", "shown first: an alert is open"),
        ),
        ({"open_alerts": [{"key": "x"}], "budget": None}, "7d", ("7d", "")),
        ({"open_alerts": [], "budget": None}, "1y", ("24h", "")),
    ],
)
def test_the_range_shown_first(
    project: dict[str, Any], asked: str, expected: tuple[str, str]
) -> None:
    """3 h while an alert is open or the budget runs out within 6 h, else 24 h; a range asked
    for wins; one not offered is ignored."""
    shown, why = chosen(project, asked)
    assert expected == (shown.name, why)
