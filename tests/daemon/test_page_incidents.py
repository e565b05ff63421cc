"""The status page lists the last 30 days' incidents, each opening onto its timeline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

from tests.chromium import dump_dom

from sbwatch.config.settings import Settings
from sbwatch.core.results import IncidentEvent, IncidentEventKind
from sbwatch.daemon.page import render_status_page
from sbwatch.store.sqlite import SqliteStore

NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
REF = "abcdefghijklmnopqrst"


async def test_page_shows_recent_incidents_with_their_timeline(tmp_path: Path) -> None:
    """Rendered by Chromium: the incident of last week with its changelog entry and each line
    of its timeline inside a <details>; one closed 40 days ago is left out."""
    store = SqliteStore(tmp_path / "s.db")
    await store.open()
    try:
        old = await store.open_incident(REF, NOW - timedelta(days=41), "long ago", 1)
        await store.close_incident(old.id, NOW - timedelta(days=40), "")
        recent = await store.open_incident(REF, NOW - timedelta(days=6), "rest is down", 20)
        for minutes, kind, text in (
            (0, IncidentEventKind.MESSAGE, "CRITICAL shop: rest is down"),
            (5, IncidentEventKind.CLOSE, "Cause: rest is down. Lasted 5m."),
        ):
            at = recent.opened_at + timedelta(minutes=minutes)
            await store.add_incident_event(IncidentEvent(recent.id, at, kind, text))
        await store.close_incident(recent.id, recent.opened_at + timedelta(minutes=5), "")
        settings = Settings.model_validate({"state": {"path": str(tmp_path / "s.db")}})
        page = tmp_path / "page.html"
        page.write_text(await render_status_page(store, settings, NOW), encoding="utf-8")
    finally:
        await store.close()
    dom = unescape(dump_dom(page.as_uri()))
    assert f'<details class="incident" id="incident-{recent.id}">' in dom
    assert "May 20 12:00 cause: rest is down; 12:05 resolved (lasted 5m)" in dom
    assert "<li>May 20 12:00  phone: CRITICAL shop: rest is down</li>" in dom
    assert "<li>May 20 12:05  closed: Cause: rest is down. Lasted 5m.</li>" in dom
    assert "long ago" not in dom
