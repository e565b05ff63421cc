"""``sbwatch maintenance`` and ``sbwatch ack`` through the command line, and what ``status``
and the status page show of them."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sbwatch.cli import main
from sbwatch.commands.status import render
from sbwatch.config.settings import load_settings
from sbwatch.core.results import Alert, Severity
from sbwatch.daemon.page import render_page
from sbwatch.daemon.status import gather_status
from sbwatch.store.sqlite import SqliteStore

REF = "abcdefghijklmnopqrst"
T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def write_config(tmp_path: Path, extra: str = "") -> Path:
    """A configuration with one project named shop and its store in tmp_path."""
    path = tmp_path / "config.toml"
    path.write_text(
        f'[state]\npath = "{tmp_path / "state.db"}"\n'
        f'[[projects]]\nref = "{REF}"\nname = "shop"\n' + extra,
        encoding="utf-8",
    )
    return path


T = TypeVar("T")


def run_store(tmp_path: Path, work: Callable[[SqliteStore], Awaitable[T]]) -> T:
    """Run a coroutine function over the configuration's store."""

    async def go() -> T:
        store = SqliteStore(tmp_path / "state.db")
        await store.open()
        try:
            return await work(store)
        finally:
            await store.close()

    return asyncio.run(go())


def test_maintenance_add_list_and_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """add stores a window for the project named, list shows it in force with who made it,
    end by name ends it; ending it again finds nothing."""
    config = str(write_config(tmp_path))
    assert 0 == main(
        ["-c", config, "maintenance", "add", "shop", "--for", "30m", "--reason", "db migration"]
    )
    added = capsys.readouterr().out
    assert added.startswith(f"maintenance #1: {REF} ")
    assert added.rstrip().endswith("(30m): db migration")
    assert 0 == main(["-c", config, "maintenance", "list"])
    listed = capsys.readouterr().out
    assert f"#1 {REF}" in listed
    assert f"in force, 30m left  db migration  by {getpass.getuser()}" in listed
    assert (0, 1) == (
        main(["-c", config, "maintenance", "end", "shop"]),
        main(["-c", config, "maintenance", "end", "1"]),
    )
    out = capsys.readouterr().out
    assert "maintenance #1 (abcdefghijklmnopqrst: db migration) ended at" in out
    assert "no window in force or planned for 1" in out


def test_maintenance_add_refuses_an_unknown_project(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unknown project is refused with the configured refs (exit 2)."""
    config = str(write_config(tmp_path))
    assert 2 == main(["-c", config, "maintenance", "add", "nope", "--for", "30m"])
    assert f"unknown project 'nope' (projects: {REF}; or '*')" in capsys.readouterr().out


def test_configured_windows_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A repeating configured window is listed with its schedule and next start."""
    extra = (
        '[[maintenance]]\nproject = "shop"\ncron = "0 2 * * sun"\nduration = "1h"\n'
        'reason = "vacuum"\n'
    )
    config = str(write_config(tmp_path, extra))
    run_store(tmp_path, lambda s: s.schema_version())  # the daemon's store exists
    assert 0 == main(["-c", config, "maintenance", "list"])
    out = capsys.readouterr().out
    assert "config shop  every '0 2 * * sun' for 1h" in out
    assert "vacuum" in out


def _open_alert(store: SqliteStore) -> Alert:
    """An open critical about REST, opened at T0."""
    return Alert(f"{REF}:service:rest", REF, Severity.CRITICAL, "rest is down", "", T0, T0)


def test_ack_by_key_and_by_project_records_who(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ack takes the alert named by its key (the project's name standing for the ref) and
    records who; a second ack says who took it first; an unknown alert lists the open ones."""
    config = str(write_config(tmp_path))
    run_store(tmp_path, lambda s: s.save_alert(_open_alert(s)))
    assert 0 == main(["-c", config, "ack", "shop:service:rest", "--by", "ann"])
    first = capsys.readouterr().out
    assert first.startswith(f"acknowledged {REF}:service:rest (rest is down, open ")
    assert 0 == main(["-c", config, "ack", REF])
    assert "was already acknowledged by ann at" in capsys.readouterr().out
    assert 1 == main(["-c", config, "ack", "shop:budget"])
    assert (
        f"no open alert 'shop:budget'; open alerts:\n  {REF}:service:rest"
        in capsys.readouterr().out
    )
    assert 0 == main(["-c", config, "alert", "list"])
    listed = capsys.readouterr().out
    assert f"  critical {REF}:service:rest  rest is down  (open " in listed
    assert ", acknowledged by ann at " in listed
    [ack] = run_store(tmp_path, lambda s: s.acks())
    assert (f"{REF}:service:rest", "ann", T0) == (ack.alert_key, ack.acked_by, ack.opened_at)


def test_status_and_page_show_windows_and_acks(tmp_path: Path) -> None:
    """The status document gives each project its windows in force and planned and each open
    alert who took it; ``sbwatch status`` and the page say both."""
    settings = load_settings(write_config(tmp_path), watching=False)
    now = T0 + timedelta(minutes=5)

    async def fill(store: SqliteStore) -> dict[str, Any]:
        await store.save_alert(_open_alert(store))
        await store.ack_alert(f"{REF}:service:rest", REF, T0, now, "ann")
        await store.add_maintenance(REF, T0, T0 + timedelta(minutes=30), "db migration", "ann")
        await store.add_maintenance(
            "*", T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), "upgrade", "bob"
        )
        return await gather_status(store, settings, now, window=timedelta(hours=48))

    doc = run_store(tmp_path, fill)
    [project] = doc["projects"]
    assert [(True, "db migration"), (False, "upgrade")] == [
        (w["in_force"], w["reason"]) for w in project["maintenance"]
    ]
    text = render(doc)
    assert "  MAINTENANCE until 2026-06-01 10:30 UTC: db migration" in text
    assert "  maintenance planned 2026-06-02 10:00 to 2026-06-02 11:00 UTC: upgrade" in text
    assert "  ALERT critical: rest is down (acknowledged by ann)" in text
    page = render_page(doc, now=now, listen="127.0.0.1")
    assert '<section id="maintenance"><h2>Maintenance windows</h2>' in page
    assert (
        "<td>in force</td><td>2026-06-01 10:00 to 2026-06-01 10:30 UTC</td><td>db migration</td>"
        in page
    )
    assert "acknowledged by ann" in page
