"""The status page: rendering from a status document, serving it beside /metrics, threads."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter

from sbwatch.daemon.chart import Frame, Point, budget_chart
from sbwatch.daemon.page import render_page, threadsafe
from sbwatch.daemon.web import status_app

NOW = datetime(2026, 5, 26, 14, 30, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


def iso(hours_ago: float) -> str:
    """The ISO time ``hours_ago`` before NOW."""
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def status_doc() -> dict[str, Any]:
    """A project that drained on micro, was raised to small, and is now down on REST."""
    history = [
        {"at": iso(48 - h / 4), "ratio": max(0.02, 0.9 - h / 160), "tier": "micro"}
        for h in range(0, 30 * 4)
    ] + [
        {"at": iso(18 - h / 4), "ratio": min(1.0, 0.6 + h / 200), "tier": "small"}
        for h in range(72)
    ]
    return {
        "at": NOW.isoformat(),
        "projects": [
            {
                "ref": REF,
                "name": "shop <prod>",
                "diagnosis": "service_down",
                "diagnosed_at": iso(0.01),
                "evidence": ["rest probe down", "status page green"],
                "probes": [
                    {
                        "probe": "rest",
                        "state": "down",
                        "since": iso(0.05),
                        "last_outcome": "fail",
                        "last_detail": "server error (503)",
                        "last_at": iso(0.001),
                    },
                    {
                        "probe": "auth",
                        "state": "up",
                        "since": iso(20),
                        "last_outcome": "ok",
                        "last_detail": "",
                        "last_at": iso(0.001),
                    },
                ],
                "budget": {
                    "tier": "small",
                    "ratio": 0.78,
                    "eta_s": 5 * 3600.0,
                    "burn_mbps": 12.5,
                    "confidence": 0.8,
                    "at": iso(0.01),
                },
                "open_alerts": [
                    {
                        "key": f"{REF}:diagnosis",
                        "severity": "critical",
                        "title": "rest is down",
                        "opened_at": iso(0.04),
                    }
                ],
                "unfinished_escalations": [],
                "budget_history": history,
                "escalations": [
                    {
                        "id": 3,
                        "from": "micro",
                        "to": "small",
                        "state": "recovered",
                        "actor": "daemon",
                        "reason": "IO budget runs out in 1h50m",
                        "at": iso(18),
                        "recovered_s": 130.0,
                    }
                ],
            }
        ],
        "failed_notifications": [{"route": "chat", "title": "rest is down", "reason": "HTTP 404"}],
        "silences": [{"project": "*", "until": iso(-2), "reason": "upgrade", "by": "cli:ops"}],
    }


def page(asked: str = "7d") -> str:
    """The page of the synthetic document, on loopback, its chart over ``asked``."""
    return render_page(status_doc(), now=NOW, listen="127.0.0.1", asked=asked)


def test_page_shows_every_part() -> None:
    """Diagnosis, probe states, budget line and forecast, tier band, alerts, escalations,
    silences and failed deliveries are all on it, with names escaped."""
    html = page()
    assert "shop &lt;prod&gt;" in html
    assert 'data-diagnosis="service_down">service down</span>' in html
    assert '<td class="down">down</td>' in html
    assert "<b>78% left</b> on small · runs out in 5h (Tue 19:30 UTC)" in html
    assert re.search(r'<path class="budget-line" d="M[\d.,]+ (L[\d.,]+ ?){100,}"', html)
    assert '<path class="forecast"' in html
    assert ["micro", "small"] == re.findall(r'class="tier-band" data-tier="(\w+)"', html)
    assert '<td class="critical">critical</td><td>rest is down</td><td>open for 2m24s</td>' in html
    assert "micro → small</td><td>recovered in 2m10s</td>" in html
    assert "until 2026-05-26 16:30 UTC</td><td>upgrade</td>" in html
    assert "<td>chat</td><td>rest is down</td><td>HTTP 404</td>" in html


def test_page_refreshes_itself_and_loads_nothing_else() -> None:
    """A meta refresh; no script, no external stylesheet, image or link (the chart's ranges
    link to this page)."""
    html = page()
    assert '<meta http-equiv="refresh" content="10">' in html
    assert "<script" not in html
    assert "<link" not in html
    assert [] == re.findall(r'(?:src|href)="(?!/metrics"|\?range=\w+#project-\w+")', html)


@pytest.mark.parametrize(
    ("listen", "said"),
    [
        ("127.0.0.1", "No login: this page listens on 127.0.0.1 only"),
        ("0.0.0.0", "No login, and it listens on 0.0.0.0: whoever reaches this port"),
    ],
)
def test_page_says_why_there_is_no_login(listen: str, said: str) -> None:
    """On loopback it says only this machine can open it; elsewhere it warns."""
    assert said in render_page(status_doc(), now=NOW, listen=listen)


def test_chart_without_estimates_says_so() -> None:
    """No stored estimate yet: the chart has no line and says why."""
    svg = budget_chart([], Frame(NOW), ratio=None, eta_s=None)
    assert "budget-line" not in svg
    assert "no estimate yet" in svg


def test_chart_breaks_the_line_where_the_daemon_was_off() -> None:
    """Two runs of estimates an hour apart are drawn as two strokes."""
    points = [Point(NOW - timedelta(hours=3, minutes=m), 0.5, "micro") for m in range(10)] + [
        Point(NOW - timedelta(minutes=m), 0.4, "micro") for m in range(10)
    ]
    svg = budget_chart(points, Frame(NOW), ratio=0.4, eta_s=None)
    line = re.search(r'class="budget-line" d="([^"]+)"', svg)
    assert line is not None
    assert 2 == line.group(1).count("M")
    assert "forecast" not in svg


def test_chart_ticks_at_six_hours_and_names_midnight() -> None:
    """Ticks every six hours on the UTC clock; a midnight tick names the day."""
    svg = budget_chart([], Frame(NOW), ratio=None, eta_s=None)
    labels = re.findall(r'<text class="small tick"[^>]*>([^<]+)</text>', svg)
    days = ["18:00", "Mon 00:00", "06:00", "12:00", "18:00", "Tue 00:00", "06:00", "12:00"]
    assert [*days, "18:00"] == labels


def call(
    app: Any, path: str, method: str = "GET", query: str = ""
) -> tuple[str, dict[str, str], bytes]:
    """One WSGI request: status line, headers, body."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": method,
        "QUERY_STRING": query,
        "wsgi.input": BytesIO(b""),
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "9464",
        "wsgi.url_scheme": "http",
    }
    body: Iterable[bytes] = app(environ, start_response)
    return seen["status"], seen["headers"], b"".join(body)


def registry() -> CollectorRegistry:
    """A registry with one counter."""
    reg = CollectorRegistry()
    Counter("sbwatch_test_total", "a test counter", registry=reg).inc()
    return reg


def test_root_is_the_page_and_metrics_stay_at_metrics() -> None:
    """/ answers the HTML page; /metrics the Prometheus text, as before."""
    app = status_app(registry(), lambda asked: f"<html>page {asked}</html>")
    status, headers, body = call(app, "/")
    assert ("200 OK", "text/html; charset=utf-8", b"<html>page </html>") == (
        status,
        headers["Content-Type"],
        body,
    )
    status, _, body = call(app, "/metrics")
    assert "200 OK" == status
    assert b"sbwatch_test_total 1.0" in body


def test_the_range_asked_for_reaches_the_page() -> None:
    """``/?range=3h`` renders the page with "3h" (the page judges what it means)."""
    app = status_app(registry(), lambda asked: f"<html>page {asked}</html>")
    assert b"<html>page 3h</html>" == call(app, "/", query="range=3h&x=1")[2]


def test_a_failing_page_answers_503_and_metrics_go_on() -> None:
    """The page raising is a 503 naming only the error type; /metrics still answers."""

    def broken(asked: str) -> str:
        raise RuntimeError("postgresql://user:secret@db/x is unreachable")

    app = status_app(registry(), broken)
    status, _, body = call(app, "/")
    assert status.startswith("503")
    assert b"RuntimeError" in body
    assert b"secret" not in body
    assert "200 OK" == call(app, "/metrics")[0]


def test_without_a_page_root_is_metrics() -> None:
    """With no page (as before this page existed), every path is the metrics."""
    assert b"sbwatch_test_total" in call(status_app(registry(), None), "/")[2]


async def test_threadsafe_renders_on_the_loop() -> None:
    """Called from another thread, the render runs on the daemon's loop and returns its HTML."""
    loop = asyncio.get_running_loop()
    ran_on: list[int] = []

    async def render(asked: str) -> str:
        ran_on.append(threading.get_ident())
        return f"<html>ok {asked}</html>"

    assert "<html>ok 7d</html>" == await asyncio.to_thread(threadsafe(render, loop), "7d")
    assert [threading.get_ident()] == ran_on


def test_threadsafe_on_a_closed_loop_raises_and_leaves_nothing_unawaited() -> None:
    """Once the loop is closed the page raises RuntimeError (no never-awaited coroutine)."""
    loop = asyncio.new_event_loop()
    loop.close()

    async def render(asked: str) -> str:
        return asked

    with pytest.raises(RuntimeError):
        threadsafe(render, loop)("")
