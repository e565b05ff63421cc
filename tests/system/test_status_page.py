"""The status page at / of a real daemon watching the simulator, read by headless Chromium.

The tests that only read the page share one simulator and daemon (``watched``); the one that
takes a service down has its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.chromium import decode_png, dump_dom, screenshot
from tests.servers import free_port
from tests.system.conftest import (
    REF,
    SIM_SERVICE_KEY,
    SIM_TOKEN,
    ConfigParts,
    Daemon,
    DaemonFactory,
    Receiver,
    Sim,
    daemon_config,
    receiving,
    start_sim,
    wait_for,
)

from sbwatch.daemon.page import REFRESH_S

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def healthy_daemon(sim: Sim, daemons: DaemonFactory, receiver: Receiver, directory: Path) -> Daemon:
    """A daemon with fast probes and a phone route, once its project is diagnosed healthy."""
    port = free_port()
    running = daemons.start(
        daemon_config(sim, directory, port, ConfigParts(extra=receiver.route())), port
    )
    wait_for(
        "a healthy diagnosis",
        lambda: running.sample("sbwatch_diagnosis", project=REF, kind="healthy") == 1.0,
    )
    return running


@pytest.fixture
def daemon(sim: Sim, daemons: DaemonFactory, receiver: Receiver, tmp_path: Path) -> Daemon:
    """A daemon of the test's own, its project diagnosed healthy."""
    return healthy_daemon(sim, daemons, receiver, tmp_path)


@dataclass(frozen=True)
class Watched:
    """The shared daemon and the phone route it was given."""

    daemon: Daemon
    receiver: Receiver


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Watched]:
    """One simulator and one daemon, its project healthy, for the tests that only read the
    page (nothing they do changes what it shows): started once instead of once a test."""
    directory = tmp_path_factory.mktemp("status-page")
    with receiving() as phone:
        sim = start_sim(directory)
        daemons = DaemonFactory(directory)
        try:
            yield Watched(healthy_daemon(sim, daemons, phone, directory), phone)
        finally:
            daemons.close()
            sim.proc.close()


def page_url(daemon: Daemon) -> str:
    """The status page of this daemon."""
    return f"http://127.0.0.1:{daemon.metrics_port}/"


def project_section(dom: str) -> str:
    """The project's <section> in the DOM."""
    found = re.search(rf'<section class="project" id="project-{REF}">.*?</section>', dom, re.S)
    assert found is not None, dom[:2000]
    return found.group(0)


def test_page_renders_the_project(watched: Watched) -> None:
    """Chromium renders the project with its diagnosis, probes and budget chart; it refreshes
    itself, says why there is no login, and loads nothing from elsewhere."""
    daemon = watched.daemon
    dom = dump_dom(page_url(daemon))
    section = project_section(dom)
    assert 'data-diagnosis="healthy"' in section
    probes = re.findall(r'<tr class="probe" data-probe="(\w+)"><td>\w+</td><td class="(\w+)"', dom)
    assert {"auth", "db", "metrics", "mgmt_health", "rest"} <= {p for p, _ in probes}
    assert "up" == dict(probes)["rest"]
    assert '<svg class="budget-chart"' in section
    assert re.search(rf'<meta http-equiv="refresh" content="{REFRESH_S}">', dom)
    assert "No login: this page listens on 127.0.0.1 only" in dom
    assert "<script" not in dom
    assert [] == re.findall(r'(?:src|href)="(?:https?:)?//', dom)
    assert "sbwatch_build_info" in daemon.metrics_text()  # /metrics is still there


def test_nothing_secret_is_on_the_page(watched: Watched) -> None:
    """Neither the token, the service key, the database DSN nor the route URL is shown."""
    receiver = watched.receiver
    html = httpx.get(page_url(watched.daemon), timeout=10).text
    assert REF in html
    for secret in (SIM_TOKEN, SIM_SERVICE_KEY, "postgresql://", "json://", f":{receiver.port}"):
        assert secret not in html, secret


def test_a_project_going_down_shows_within_one_refresh(daemon: Daemon, sim: Sim) -> None:
    """After REST goes down, a load of the page within one refresh period shows it down with
    its critical alert (the diagnosis is stored a moment before the alert it raises: a load
    between the two shows the one without the other, so the wait is for both)."""
    assert 'data-diagnosis="healthy"' in project_section(dump_dom(page_url(daemon)))
    sim.event(kind="service", name="rest", up=False)
    started = time.monotonic()

    def shows_down() -> str | None:
        section = project_section(dump_dom(page_url(daemon)))
        down = 'data-diagnosis="service_down"' in section
        alerted = '<tr class="alert"><td class="critical">critical</td>' in section
        return section if down and alerted else None

    section = wait_for("the page to show REST down", shows_down, deadline_s=REFRESH_S)
    assert time.monotonic() - started <= REFRESH_S
    assert re.search(r'data-probe="rest"><td>rest</td><td class="down">down</td>', section)
    assert '<tr class="alert"><td class="critical">critical</td>' in section


def test_screenshot_keeps_the_layout(watched: Watched) -> None:
    """At 1200x900: not blank, the dark header across the top, the chart inside the window at
    its size, the healthy badge shown, and nothing wider than the window."""
    image = decode_png(screenshot(page_url(watched.daemon)))
    assert (1200, 900) == (image.width, image.height)
    assert len(image.colours()) > 50
    header = image.region((0x23, 0x30, 0x3D), min_run=600)
    assert header is not None
    left, top, right, bottom = header
    assert (0, 0) == (left, top)
    assert right >= 1180  # the whole width (less a scrollbar)
    assert 60 <= bottom <= 160
    plot = image.region((0xFA, 0xFA, 0xFA), min_run=100)  # the chart's past 48 h
    ahead = image.region((0xF0, 0xF0, 0xF0), min_run=20)  # and the forecast's 6 h
    assert plot is not None
    assert ahead is not None
    p_left, p_top, p_right, p_bottom = plot
    assert 300 <= p_right - p_left <= 720
    assert 90 <= p_bottom - p_top <= 200
    assert p_top > bottom
    assert p_right < ahead[0] <= ahead[2] < 1190  # inside the window: no horizontal overflow
    assert image.region((0x3A, 0x9D, 0x5D), min_run=40) is not None  # the "healthy" badge


def test_the_range_asked_for_is_drawn_and_the_figures_shown(watched: Watched) -> None:
    """``/?range=7d`` of the real daemon draws 7 days (a healthy project opens on 24 h), and
    the availability block shows the objective and a bar of 90 days per probed service."""
    default = httpx.get(page_url(watched.daemon), timeout=10).text
    week = httpx.get(page_url(watched.daemon) + "?range=7d", timeout=10).text
    assert '<b class="range" data-range="24h">24 h</b>' in default
    assert '<b class="range" data-range="7d">7 d</b>' in week
    assert 'aria-label="disk IO budget, last 7 days"' in week
    assert "Availability (objective 99.9%)" in default
    bar = re.search(r'<div class="uptime-bar" data-service="rest">(.*?)</div></div>', default)
    assert bar is not None
    assert 90 == bar.group(1).count("<span ")
