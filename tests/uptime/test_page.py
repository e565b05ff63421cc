"""The availability block of the status page, rendered by headless Chromium from a real store:
the figures against the objective and a bar of 90 days per service, red where a day had
downtime, grey where nothing is known, each day titled with its availability."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from tests.chromium import decode_png, dump_dom, screenshot
from tests.uptime.conftest import NOW, settings

from sbwatch.daemon.page import render_status_page
from sbwatch.store.sqlite import SqliteStore

RED = (0xD6, 0x45, 0x45)
GREY = (0xC9, 0xCE, 0xD6)


async def page_file(store: SqliteStore, tmp_path: Path) -> Path:
    """The page as of NOW, written where Chromium opens it."""
    page = tmp_path / "page.html"
    html = await render_status_page(store, settings(tmp_path, "slo = 99.5"), NOW)
    page.write_text(html, encoding="utf-8")
    return page


async def test_the_figures_and_the_days_of_each_service(store: SqliteStore, tmp_path: Path) -> None:
    """db: 20 minutes down today, red today only, its budget at 99.5% spent in part; auth never
    ran: 90 grey days and no data."""
    dom = unescape(dump_dom((await page_file(store, tmp_path)).as_uri()))
    assert "Availability (objective 99.5%)" in dom
    row = re.search(r'<tr class="availability" data-service="db">(.*?)</tr>', dom)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1))
    assert ["db", "94.444%", "94.444%", "94.444%"] == cells[:4]
    assert "3h36m allowed, 20m down: 3h16m left (91%)" == cells[4]
    bar = re.search(r'<div class="uptime-bar" data-service="db">(.*?)</div></div>', dom)
    assert bar is not None
    days = re.findall(r'<span class="(\w+)" data-date="([\d-]+)" title="([^"]*)">', bar.group(1))
    assert 90 == len(days)
    assert ("down", "2026-05-26", "2026-05-26: 94.444%, down 20m, unknown 6h") == days[-1]
    assert {"unknown"} == {cls for cls, _, _ in days[:-1]}
    auth = re.search(r'<div class="uptime-bar" data-service="auth">(.*?)</div></div>', dom)
    assert auth is not None
    assert 90 == auth.group(1).count('class="unknown"')
    assert re.search(r'data-service="auth"><td>auth</td>(<td class="num">no data</td>){3}', dom)


async def test_screenshot_shows_the_red_day_inside_the_window(
    store: SqliteStore, tmp_path: Path
) -> None:
    """At 1200x1400 (saved beside the page): the red cell of today, narrow as one of 90 cells,
    at the right end of grey bars, all inside the window."""
    png = screenshot((await page_file(store, tmp_path)).as_uri(), 1200, 1400)
    (tmp_path / "uptime.png").write_bytes(png)
    image = decode_png(png)
    red = image.region(RED, min_run=3)
    grey = image.region(GREY, min_run=3)
    assert red is not None
    assert grey is not None
    r_left, r_top, r_right, r_bottom = red
    g_left, _, _, g_bottom = grey
    assert 15 <= r_bottom - r_top <= 25  # one bar high
    assert g_bottom > r_bottom + 60  # the grey days of auth two bars below
    assert g_left < r_left < 1190
    assert r_right - r_left <= 12
